"""The mail stop switch an admin maintainer pulls on the Mail page (bot.review.mailstop)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("review", "0005_series_approval")]
    operations = [
        migrations.CreateModel(
            name="MailStop",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("stopped", models.BooleanField(default=False)),
                ("by", models.CharField(blank=True, default="", max_length=150)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reason", models.TextField(blank=True, default="")),
            ],
        ),
    ]
