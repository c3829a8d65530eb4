"""0005_mail_stop and 0005_series_approval were written side by side on 0004: one history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("review", "0005_mail_stop"), ("review", "0005_series_approval")]
    operations: list = []
