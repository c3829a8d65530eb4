"""What a read costs in queries: a page of patches or series takes the same number of queries
for one series as for three (no query per row), and none loads a check's log or a patch's
diff it does not show."""

from __future__ import annotations

import pytest

from bot.post import outdir as od

pytestmark = pytest.mark.django_db


def post(bot_api, outdir, first: int, n: int) -> None:
    for i in range(first, first + n):
        body = {**od.series_payload(outdir, "debian-linux"), "dedupe_key": f"queries-{i:03d}"}
        for k, mail in enumerate(body["patches"]):
            body["patches"][k] = mail.replace("Subject:", f"Message-Id: <q{i}-{k}@x>\nSubject:", 1)
        body["cover"] = body["cover"].replace("Subject:", f"Message-Id: <q{i}-c@x>\nSubject:", 1)
        rsp = bot_api.post("/api/cocci/series/", body, format="json")
        assert rsp.status_code == 201, rsp.content
        sid = rsp.json()["id"]
        assert bot_api.post(f"/api/1.2/series/{sid}/checks/",
                            {"context": "build", "state": "success", "log": "x" * 1000},
                            format="json").status_code == 201


def queries(client, url: str, django_assert_max_num_queries) -> list[str]:
    with django_assert_max_num_queries(50) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("url", ["/api/1.2/patches/", "/api/1.2/series/"])
def test_lists_take_a_fixed_number_of_queries(project, bot_api, outdir, url,
                                              django_assert_max_num_queries):
    post(bot_api, outdir, 0, 1)
    one = queries(bot_api, url, django_assert_max_num_queries)
    post(bot_api, outdir, 1, 2)
    three = queries(bot_api, url, django_assert_max_num_queries)
    assert len(three) == len(one) <= 6, three
    check_reads = [q for q in three if 'FROM "review_check"' in q]
    assert check_reads and not any('"review_check"."log"' in q for q in check_reads)
    if url == "/api/1.2/series/":
        patch_reads = [q for q in three if 'FROM "review_patch"' in q]
        assert patch_reads and not any('"review_patch"."diff"' in q for q in patch_reads)
