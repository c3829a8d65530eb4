"""URLs: Patchwork's API 1.2 under /api/1.2/, the bot's write API under /api/cocci/, the
OpenAPI schema at /api/schema/, mbox downloads and the maintainers' pages."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from bot.review import (
    api,
    converters,  # noqa: F401 - registers the <id:...> converter
)

v = "api/1.2/"

urlpatterns = [
    path(v, api.Index.as_view(), name="api-index"),
    path(f"{v}projects/", api.ProjectList.as_view(), name="api-project-list"),
    path(f"{v}projects/<str:pk>/", api.ProjectDetail.as_view(), name="api-project-detail"),
    path(f"{v}people/", api.PersonList.as_view(), name="api-person-list"),
    path(f"{v}people/<id:pk>/", api.PersonDetail.as_view(), name="api-person-detail"),
    path(f"{v}users/", api.UserList.as_view(), name="api-user-list"),
    path(f"{v}users/<id:pk>/", api.UserDetail.as_view(), name="api-user-detail"),
    path(f"{v}series/", api.SeriesList.as_view(), name="api-series-list"),
    path(f"{v}series/<id:pk>/", api.SeriesDetail.as_view(), name="api-series-detail"),
    path(f"{v}series/<id:pk>/report/", api.SeriesReport.as_view(), name="api-series-report"),
    path(f"{v}series/<id:pk>/checks/", api.SeriesChecks.as_view(), name="api-series-checks"),
    path(f"{v}series/<id:pk>/checks/<id:check_id>/", api.SeriesCheckDetail.as_view(),
         name="api-series-check-detail"),
    path(f"{v}patches/", api.PatchList.as_view(), name="api-patch-list"),
    path(f"{v}patches/<id:pk>/", api.PatchDetail.as_view(), name="api-patch-detail"),
    path(f"{v}patches/<id:pk>/comments/", api.PatchComments.as_view(),
         name="api-patch-comments"),
    path(f"{v}patches/<id:patch_id>/checks/", api.PatchChecks.as_view(),
         name="api-patch-checks"),
    path(f"{v}patches/<id:patch_id>/checks/<id:check_id>/", api.PatchCheckDetail.as_view(),
         name="api-patch-check-detail"),
    path(f"{v}events/", api.EventList.as_view(), name="api-event-list"),
    path(f"{v}covers/", api.CoverList.as_view(), name="api-cover-list"),
    path(f"{v}covers/<id:pk>/", api.CoverDetail.as_view(), name="api-cover-detail"),
    path(f"{v}covers/<id:pk>/comments/", api.CoverComments.as_view(),
         name="api-cover-comments"),
    path("api/cocci/series/", api.SeriesCreate.as_view(), name="api-cocci-series-create"),
    path("api/cocci/series/<id:pk>/supersede/", api.SeriesSupersede.as_view(),
         name="api-cocci-series-supersede"),
    path("api/cocci/projects/<slug:project>/campaigns/<str:campaign>/absorbed/",
         api.CampaignAbsorbed.as_view(), name="api-cocci-campaign-absorbed"),
    path("api/cocci/series/<id:pk>/state/", api.SeriesState.as_view(),
         name="api-cocci-series-state"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("patch/<id:pk>/mbox/", api.patch_mbox, name="patch-mbox"),
    path("cover/<id:pk>/mbox/", api.cover_mbox, name="cover-mbox"),
    path("series/<id:pk>/mbox/", api.series_mbox, name="series-mbox"),
    path("", include("bot.review.web_urls")),
]
