from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from bot.review import (
    converters,  # noqa: F401 - registers the <id:...> converter
    web,
)
from bot.review.login import ThrottledLoginView
from bot.review.mailstop import page as mail_page

app_name = "review"

urlpatterns = [
    path("", web.queue, name="queue"),
    path("project/<slug:link_name>/", web.project, name="project"),
    path("project/<slug:link_name>/list/", web.project_list, name="project-list"),
    path("project/<slug:link_name>/patch/<str:msgid>/", web.project_message,
         name="project-patch"),
    path("project/<slug:link_name>/cover/<str:msgid>/", web.project_message,
         name="project-cover"),
    path("message/<str:msgid>/", web.message, name="message"),
    path("cover/<id:pk>/", web.cover, name="cover"),
    path("series/<id:pk>/", web.series, name="series"),
    path("series/<id:pk>/action/", web.series_action, name="series-action"),
    path("patch/<id:pk>/", web.patch, name="patch"),
    path("patch/<id:pk>/action/", web.patch_action, name="patch-action"),
    path("checks/<id:pk>/log/", web.check_log, name="check-log"),
    path("bundle/<str:owner>/<str:name>/", web.bundle, name="bundle"),
    path("todo/", web.todo, name="todo"),
    path("series/bulk/", web.bulk_action, name="bulk-action"),
    path("profile/", web.profile, name="profile"),
    path("mail/", mail_page, name="mail"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
