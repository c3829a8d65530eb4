"""What the queue holds: projects, series (versions linked), covers, patches, checks, states,
comments, API tokens and an event log. Names follow Patchwork's where Patchwork has the concept."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

CHECK_STATES = ("pending", "success", "warning", "fail")
CHECK_CONTEXTS = ("build", "boot", "kvm-smoke", "idempotence", "checkpatch")
ROLES = ("maintainer", "bot")

# Patchwork's default states: (slug, name, ordering, action_required)
DEFAULT_STATES = (
    ("new", "New", 0, True),
    ("under-review", "Under Review", 1, True),
    ("accepted", "Accepted", 2, False),
    ("rejected", "Rejected", 3, False),
    ("rfc", "RFC", 4, False),
    ("not-applicable", "Not Applicable", 5, False),
    ("changes-requested", "Changes Requested", 6, False),
    ("awaiting-upstream", "Awaiting Upstream", 7, False),
    ("superseded", "Superseded", 8, False),
    ("deferred", "Deferred", 9, False),
)


class State(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100, unique=True)
    ordering = models.IntegerField(unique=True)
    action_required = models.BooleanField(default=True)

    class Meta:
        ordering = ["ordering"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    link_name = models.SlugField(max_length=255, unique=True)
    name = models.CharField(max_length=255, unique=True)
    list_id = models.CharField(max_length=255, unique=True)
    list_email = models.CharField(max_length=200)
    web_url = models.CharField(max_length=2000, blank=True)
    scm_url = models.CharField(max_length=2000, blank=True)
    webscm_url = models.CharField(max_length=2000, blank=True)
    maintainers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True)

    class Meta:
        ordering = ["link_name"]

    def __str__(self) -> str:
        return self.link_name


class Person(models.Model):
    email = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Series(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="series")
    name = models.CharField(max_length=255)
    version = models.PositiveIntegerField(default=1)
    date = models.DateTimeField(default=timezone.now)   # the cover letter's Date (Patchwork's)
    submitter = models.ForeignKey(Person, on_delete=models.PROTECT)
    total = models.PositiveIntegerField()
    state = models.ForeignKey(State, on_delete=models.PROTECT)
    base_commit = models.CharField(max_length=40)
    campaign = models.CharField(max_length=255)
    tag = models.CharField(max_length=255, blank=True)
    spatch = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=128)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="next_version")
    report = models.JSONField(default=dict)
    # what the bot computed against the previous version: `git range-diff` text and the call
    # sites that appeared, vanished or changed ({"appeared": [...], ...}); shown on the page
    range_diff = models.TextField(blank=True, default="")
    site_delta = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    # who accepted it (set while the state is accepted): the drafts carry their Signed-off-by,
    # with the name and e-mail their account had then
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approver_name = models.CharField(max_length=255, blank=True, default="")
    approver_email = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "dedupe_key"],
                                               name="series_unique_dedupe_key")]
        indexes = [models.Index(fields=["project", "campaign"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Submission(models.Model):
    """What a cover letter and a patch share: one mail of the series."""

    msgid = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    date = models.DateTimeField()
    submitter = models.ForeignKey(Person, on_delete=models.PROTECT)
    headers = models.TextField()
    content = models.TextField()
    mbox = models.TextField()

    class Meta:
        abstract = True


class Cover(Submission):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="covers")
    series = models.OneToOneField(Series, on_delete=models.CASCADE, related_name="cover")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "msgid"],
                                               name="cover_unique_msgid")]


class Patch(Submission):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="patches")
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="patches")
    number = models.PositiveIntegerField()
    diff = models.TextField()
    hash = models.CharField(max_length=40, db_index=True)       # Patchwork's diff hash
    patch_id = models.CharField(max_length=40, db_index=True, blank=True,
                                default="")  # git patch-id --stable
    state = models.ForeignKey(State, on_delete=models.PROTECT)
    archived = models.BooleanField(default=False)
    commit_ref = models.CharField(max_length=255, null=True, blank=True)
    pull_url = models.CharField(max_length=255, null=True, blank=True)
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "msgid"], name="patch_unique_msgid"),
            models.UniqueConstraint(fields=["series", "number"], name="patch_unique_number"),
        ]


class Check(models.Model):
    """A check on one patch (Patchwork's) or on the whole series (ours): patch is null then."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="checks")
    patch = models.ForeignKey(Patch, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="checks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    date = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=[(s, s) for s in CHECK_STATES])
    target_url = models.CharField(max_length=200, null=True, blank=True)
    context = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]


class Comment(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="comments")
    patch = models.ForeignKey(Patch, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="comments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    date = models.DateTimeField(auto_now_add=True)
    content = models.TextField()

    class Meta:
        ordering = ["id"]


class Event(models.Model):
    """Who changed what: the log shown on the series page."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")
    category = models.CharField(max_length=64)
    date = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    series = models.ForeignKey(Series, null=True, on_delete=models.CASCADE, related_name="events")
    patch = models.ForeignKey(Patch, null=True, on_delete=models.CASCADE, related_name="+")
    check_run = models.ForeignKey(Check, null=True, on_delete=models.CASCADE, related_name="+")
    previous_state = models.ForeignKey(State, null=True, on_delete=models.PROTECT,
                                       related_name="+")
    current_state = models.ForeignKey(State, null=True, on_delete=models.PROTECT,
                                      related_name="+")
    previous_delegate = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                          on_delete=models.SET_NULL, related_name="+")
    current_delegate = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                         on_delete=models.SET_NULL, related_name="+")
    text = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]


class Bundle(models.Model):
    """Patchwork's bundle: a maintainer's named, ordered set of patches."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="bundles")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="bundles")
    name = models.CharField(max_length=50)
    public = models.BooleanField(default=False)
    patches = models.ManyToManyField(Patch, through="BundlePatch")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"],
                                               name="bundle_unique_name")]


class BundlePatch(models.Model):
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE)
    patch = models.ForeignKey(Patch, on_delete=models.CASCADE)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["bundle", "patch"],
                                               name="bundlepatch_unique")]


class Role(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="review_role")
    role = models.CharField(max_length=16, choices=[(r, r) for r in ROLES])


class ApiToken(models.Model):
    """An API token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class LoginFailure(models.Model):
    """A failed web login: counted per account and per address to lock guessing out."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)
    date = models.DateTimeField(auto_now_add=True, db_index=True)


class MailStop(models.Model):
    """The queue's mail stop switch (one row): while stopped, the bot sends no mail at all.
    Pulled and lifted by an admin maintainer on the Mail page or over the API; the bot reads
    it before every message (bot.drafts.killswitch)."""

    stopped = models.BooleanField(default=False)
    by = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True, default="")
