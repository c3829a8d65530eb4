"""Patchwork's diff hash in Patch.hash (git's patch-id moves to Patch.patch_id), a series'
date from its mails, delegation events, bundles."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def rehash(apps, schema_editor):
    from bot.review.hasher import patchwork_hash

    Patch = apps.get_model("review", "Patch")
    for patch in Patch.objects.only("id", "hash", "diff").iterator():
        patch.patch_id = patch.hash
        patch.hash = patchwork_hash(patch.diff)
        patch.save(update_fields=["patch_id", "hash"])


class Migration(migrations.Migration):
    dependencies = [("review", "0003_versions_and_logins"),
                    migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.AlterField("series", "date",
                              models.DateTimeField(default=django.utils.timezone.now)),
        migrations.AddField("patch", "patch_id",
                            models.CharField(max_length=40, db_index=True, blank=True,
                                             default="")),
        migrations.RunPython(rehash, migrations.RunPython.noop),
        migrations.AddField("event", "previous_delegate", models.ForeignKey(
            null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
            to=settings.AUTH_USER_MODEL)),
        migrations.AddField("event", "current_delegate", models.ForeignKey(
            null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
            to=settings.AUTH_USER_MODEL)),
        migrations.CreateModel("Bundle", fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                       verbose_name="ID")),
            ("name", models.CharField(max_length=50)),
            ("public", models.BooleanField(default=False)),
            ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                        related_name="bundles", to=settings.AUTH_USER_MODEL)),
            ("project", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                          related_name="bundles", to="review.project")),
        ], options={"ordering": ["id"]}),
        migrations.CreateModel("BundlePatch", fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                       verbose_name="ID")),
            ("order", models.PositiveIntegerField()),
            ("bundle", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                         to="review.bundle")),
            ("patch", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                        to="review.patch")),
        ], options={"ordering": ["order"]}),
        migrations.AddField("bundle", "patches", models.ManyToManyField(
            through="review.BundlePatch", to="review.patch")),
        migrations.AddConstraint("bundle", models.UniqueConstraint(
            fields=("owner", "name"), name="bundle_unique_name")),
        migrations.AddConstraint("bundlepatch", models.UniqueConstraint(
            fields=("bundle", "patch"), name="bundlepatch_unique")),
    ]
