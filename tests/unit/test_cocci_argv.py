from pathlib import Path

from bot.apply import cocci


def test_spatch_argv_is_prefiltered_parallel_and_time_bounded():
    argv = cocci.argv(Path("/c/01.cocci"), Path("/t"), "patch", ("--no-includes",),
                      in_place=True, jobs=2, timeout=120)
    assert argv == ["spatch", "--sp-file", "/c/01.cocci", "--dir", "/t", "--use-gitgrep",
                    "-j", "2", "--timeout", "120", "--very-quiet", "-D", "patch",
                    "--no-includes", "--in-place"]


def test_records_are_made_tree_relative_and_diff_excludes_them(tmp_path: Path):
    out = (f'cocci-bot-site {{"kind": "site", "file": "{tmp_path}/virt/kvm/x.c", "line": 3}}\n'
           "--- a/virt/kvm/x.c\n+++ b/virt/kvm/x.c\n")
    recs = cocci.parse_records(out, tmp_path)
    assert recs == [{"kind": "site", "file": "virt/kvm/x.c", "line": 3}]
    run = cocci.SpatchRun([], out, "", 0.0)
    assert run.diff == "--- a/virt/kvm/x.c\n+++ b/virt/kvm/x.c\n"
