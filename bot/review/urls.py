"""URLs: Patchwork's API 1.2 under /api/1.2/, the bot's write API under /api/cocci/, the
OpenAPI schema at /api/schema/, mbox downloads and the maintainers' pages."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from bot.review import (
    converters,  # noqa: F401 - registers the <id:...> converter
    xmlrpc,
)
from bot.review.api import bundles, checks, downloads, events, index, patches, people, series
from bot.review.mailstop import MailStopView

# Patchwork's resources: named under /api/1.2/ (the links the API returns), served the same
# under /api/ (Patchwork's unversioned root) and /api/1.0/, 1.1, 1.3 for clients pinned there
RESOURCES = [
    ("", index.Index.as_view(), "api-index"),
    ("projects/", people.ProjectList.as_view(), "api-project-list"),
    ("projects/<str:pk>/", people.ProjectDetail.as_view(), "api-project-detail"),
    ("people/", people.PersonList.as_view(), "api-person-list"),
    ("people/<id:pk>/", people.PersonDetail.as_view(), "api-person-detail"),
    ("users/", people.UserList.as_view(), "api-user-list"),
    ("users/<id:pk>/", people.UserDetail.as_view(), "api-user-detail"),
    ("series/", series.SeriesList.as_view(), "api-series-list"),
    ("series/<id:pk>/", series.SeriesDetail.as_view(), "api-series-detail"),
    ("series/<id:pk>/report/", series.SeriesReport.as_view(), "api-series-report"),
    ("series/<id:pk>/checks/", checks.SeriesChecks.as_view(), "api-series-checks"),
    ("series/<id:pk>/checks/<id:check_id>/", checks.SeriesCheckDetail.as_view(),
     "api-series-check-detail"),
    ("patches/", patches.PatchList.as_view(), "api-patch-list"),
    ("patches/<id:pk>/", patches.PatchDetail.as_view(), "api-patch-detail"),
    ("patches/<id:pk>/comments/", patches.PatchComments.as_view(), "api-patch-comments"),
    ("patches/<id:patch_id>/checks/", checks.PatchChecks.as_view(), "api-patch-checks"),
    ("patches/<id:patch_id>/checks/<id:check_id>/", checks.PatchCheckDetail.as_view(),
     "api-patch-check-detail"),
    ("events/", events.EventList.as_view(), "api-event-list"),
    ("covers/", patches.CoverList.as_view(), "api-cover-list"),
    ("covers/<id:pk>/", patches.CoverDetail.as_view(), "api-cover-detail"),
    ("covers/<id:pk>/comments/", patches.CoverComments.as_view(), "api-cover-comments"),
    ("bundles/", bundles.BundleList.as_view(), "api-bundle-list"),
    ("bundles/<id:pk>/", bundles.BundleDetail.as_view(), "api-bundle-detail"),
]
CANONICAL = "api/1.2/"
ALIASES = ("api/", "api/1.0/", "api/1.1/", "api/1.3/")

urlpatterns = [
    *(path(CANONICAL + route, view, name=name) for route, view, name in RESOURCES),
    *(path(prefix + route, view) for prefix in ALIASES for route, view, _ in RESOURCES),
    path("api/cocci/series/", series.SeriesCreate.as_view(), name="api-cocci-series-create"),
    path("api/cocci/series/<id:pk>/supersede/", series.SeriesSupersede.as_view(),
         name="api-cocci-series-supersede"),
    path("api/cocci/projects/<slug:project>/campaigns/<str:campaign>/absorbed/",
         series.CampaignAbsorbed.as_view(), name="api-cocci-campaign-absorbed"),
    path("api/cocci/series/state/", series.SeriesBulkState.as_view(),
         name="api-cocci-series-bulk-state"),
    path("api/cocci/series/<id:pk>/state/", series.SeriesState.as_view(),
         name="api-cocci-series-state"),
    path("api/cocci/series/<id:pk>/comments/", series.SeriesComments.as_view(),
         name="api-cocci-series-comments"),
    path("api/cocci/mail-stop/", MailStopView.as_view(), name="api-cocci-mail-stop"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("xmlrpc/", xmlrpc.xmlrpc_view, name="xmlrpc"),
    path("patch/<id:pk>/mbox/", downloads.patch_mbox, name="patch-mbox"),
    path("patch/<id:pk>/raw/", downloads.patch_raw, name="patch-raw"),
    path("bundle/<str:owner>/<str:name>/mbox/", downloads.bundle_mbox, name="bundle-mbox"),
    path("cover/<id:pk>/mbox/", downloads.cover_mbox, name="cover-mbox"),
    path("series/<id:pk>/mbox/", downloads.series_mbox, name="series-mbox"),
    path("", include("bot.review.web_urls")),
]
