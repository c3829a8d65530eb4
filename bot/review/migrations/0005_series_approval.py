"""Who accepted a series: the maintainer whose Signed-off-by the drafts carry."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("review", "0004_patchwork_clients"),
                    migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.AddField("series", "approved_by", models.ForeignKey(
            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
            related_name="+", to=settings.AUTH_USER_MODEL)),
        migrations.AddField("series", "approved_at", models.DateTimeField(blank=True,
                                                                          null=True)),
        migrations.AddField("series", "approver_name",
                            models.CharField(blank=True, default="", max_length=255)),
        migrations.AddField("series", "approver_email",
                            models.CharField(blank=True, default="", max_length=255)),
    ]
