"""Patchwork's default states."""

from django.db import migrations

from bot.review.models import DEFAULT_STATES


def add_states(apps, schema_editor):
    State = apps.get_model("review", "State")
    for slug, name, ordering, action_required in DEFAULT_STATES:
        State.objects.get_or_create(slug=slug, defaults={
            "name": name, "ordering": ordering, "action_required": action_required})


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]
    operations = [migrations.RunPython(add_states, migrations.RunPython.noop)]
