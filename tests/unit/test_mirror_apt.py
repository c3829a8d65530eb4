"""Parsing what apt says and choosing offers; the outputs below were captured on bullseye."""

from __future__ import annotations

import pytest

from bot.errors import InfraError, UserError
from bot.mirror import apt
from bot.mirror.versions import Upstream, parse_request

MADISON_BINARY = """\
linux-source-5.10 | 5.10.262-1 | http://deb.debian.org/debian-security bullseye-security/main amd64 Packages
linux-source-5.10 | 5.10.259-1 | http://deb.debian.org/debian-security bullseye-security/main amd64 Packages
linux-source-5.10 | 5.10.251-5 | http://deb.debian.org/debian-security bullseye-security/main amd64 Packages
linux-source-5.10 | 5.10.223-1 | http://deb.debian.org/debian bullseye/main amd64 Packages
linux-source-5.10 | 5.10.218-1 | http://deb.debian.org/debian bullseye/main amd64 Packages
linux-source-6.1 |  6.1.192-2 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
linux-source-6.1 | 6.1.177-1~deb11u1 | http://deb.debian.org/debian-security bullseye-security/main amd64 Packages
linux-source-6.1 |  6.1.176-1 | http://deb.debian.org/debian bookworm/main amd64 Packages
linux-source-6.1 | 6.1.176-1~deb11u1 | http://deb.debian.org/debian-security bullseye-security/main amd64 Packages
"""

MADISON_SOURCE = """\
     linux |  5.10.13-1 | http://deb.debian.org/debian bullseye/main Sources
     linux |  5.10.28-1 | http://deb.debian.org/debian bullseye/main Sources
     linux |  5.10.46-4 | http://deb.debian.org/debian bullseye/main Sources
     linux | 5.10.218-1 | http://deb.debian.org/debian bullseye/main Sources
     linux | 5.10.251-1 | http://deb.debian.org/debian-security bullseye-security/main Sources
     linux | 5.10.251-5 | http://deb.debian.org/debian-security bullseye-security/main Sources
 linux-6.1 | 6.1.164-1~deb11u1 | http://deb.debian.org/debian-security bullseye-security/main Sources
 linux-6.1 | 6.1.176-1~deb11u1 | http://deb.debian.org/debian-security bullseye-security/main Sources
"""

SHOW_223 = """\
Package: linux-source-5.10
Source: linux
Version: 5.10.223-1
Installed-Size: 118693
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: all
Depends: binutils, xz-utils
Recommends: libc6-dev | libc-dev, gcc, make, bc, bison, flex, linux-config-5.10
Suggests: libncurses-dev | ncurses-dev, qtbase5-dev, pkg-config
Description: Linux kernel source for version 5.10 with Debian patches
Description-md5: 0714588613c96d8202b564f6b9a70f64
Multi-Arch: foreign
Homepage: https://www.kernel.org/
Section: kernel
Priority: optional
Filename: pool/main/l/linux/linux-source-5.10_5.10.223-1_all.deb
Size: 121562870
MD5sum: 001e12b3199101f73be8069728e27687
SHA256: f733d27d239d65598d96d7a72f71ac50f49f2380192a1b3b4ca2f5ad5144dd63

"""

SHOWSRC = """\
Package: linux
Binary: linux-support-5.10.0-8, linux-doc-5.10, linux-doc, bpftool, linux-cpupower,
 linux-source-5.10, linux-source, linux-headers-5.10.0-8-common
Version: 5.10.46-4
Format: 3.0 (quilt)
Files:
 cde18df720117efed4f86bbae3af6f59 195000 linux_5.10.46-4.dsc
 20074caf4bbf7773920f6e5f08beb771 121572512 linux_5.10.46.orig.tar.xz
 a4552fc829b1fa6c2559cd4feb79378d 4373312 linux_5.10.46-4.debian.tar.xz
Checksums-Sha256:
 2ac8a8639f90b9fcf09131c359c74949e97df62c180f4eb97a6604ec2228dc15 195000 linux_5.10.46-4.dsc
 bcd8edcbc6ed21d93dc138a754b1ac08329452c2ea509ae2a4071cd521da38a3 121572512 linux_5.10.46.orig.tar.xz
 1c91aa76d70940b2caffc935e9427771c055aca5db87a3f374caa4dedf2bc4f2 4373312 linux_5.10.46-4.debian.tar.xz
Package-List:
 acpi-modules-5.10.0-8-686-di udeb debian-installer optional arch=i386 profile=pkg.linux.udeb-unsigned-test-build
Extra-Source-Only: yes
Directory: pool/main/l/linux

Package: linux
Version: 5.10.218-1
Format: 3.0 (quilt)
Checksums-Sha256:
 fc0020c86209e345b13767cbb95be68760f821c4bac474b354ddbb52157e8a4b 205890 linux_5.10.218-1.dsc
 f04ed0fa9bbfb5602b1c2227b993ae104bcdabb6803b69178129ad77b5191f3f 121946232 linux_5.10.218.orig.tar.xz
 37e7dc1bd2c06052e23f7621e53d3f565f722b4f209bf01af71eacdc609cfbb5 1669672 linux_5.10.218-1.debian.tar.xz
Package-List:
Directory: pool/main/l/linux
"""
SHOWSRC = SHOWSRC.replace("Package-List:\n", "Package-List: \n")  # as apt prints it


def offers() -> list[apt.Offer]:
    return (apt.parse_madison(MADISON_BINARY, ["linux-source-5.10", "linux-source-6.1"],
                              apt.BINARY)
            + apt.parse_madison(MADISON_SOURCE, ["linux", "linux-6.1"], apt.ORIG))


def test_argv_builders():
    binary = apt.Offer("linux-source-5.10", "5.10.223-1", apt.BINARY)
    orig = apt.Offer("linux", "5.10.46-4", apt.ORIG)
    assert apt.download_argv(binary) == ["apt-get", "download", "linux-source-5.10=5.10.223-1"]
    assert apt.download_argv(orig) == ["apt-get", "source", "--download-only", "--only-source",
                                       "linux=5.10.46-4"]
    assert apt.madison_argv(["a", "b"]) == ["apt-cache", "madison", "a", "b"]
    assert apt.show_argv("linux-source-5.10", "5.10.223-1") == [
        "apt-cache", "show", "linux-source-5.10=5.10.223-1"]
    assert apt.showsrc_argv("linux") == ["apt-cache", "showsrc", "--only-source", "linux"]


def test_parse_madison_keeps_kind_and_packages_apart():
    binary = apt.parse_madison(MADISON_BINARY, ["linux-source-5.10"], apt.BINARY)
    assert [o.version for o in binary] == ["5.10.262-1", "5.10.259-1", "5.10.251-5",
                                           "5.10.223-1", "5.10.218-1"]
    assert all(o.kind == apt.BINARY and o.package == "linux-source-5.10" for o in binary)
    # Sources lines are not binary offers, and vice versa
    assert apt.parse_madison(MADISON_SOURCE, ["linux"], apt.BINARY) == []
    assert apt.parse_madison(MADISON_BINARY, ["linux-source-5.10"], apt.ORIG) == []


def test_parse_madison_merges_one_version_listed_by_two_archives():
    twice = MADISON_SOURCE + "     linux |  5.10.46-4 | http://mirror.example/debian bullseye/main Sources\n"
    got = apt.parse_madison(twice, ["linux"], apt.ORIG)
    assert [o.version for o in got].count("5.10.46-4") == 1


def test_parse_madison_ignores_noise():
    text = "N: Unable to locate package linux-source-9.9\n\nlinux | garbage\n"
    assert apt.parse_madison(text, ["linux"], apt.ORIG) == []


def test_best_offers_prefers_binary_then_latest_revision():
    best = apt.best_offers(offers())
    assert list(best)[:3] == [Upstream.parse(v) for v in ("5.10.13", "5.10.28", "5.10.46")]
    assert list(best) == sorted(best)
    assert best[Upstream.parse("5.10.46")] == apt.Offer("linux", "5.10.46-4", apt.ORIG)
    # 5.10.218 is both a binary and a source offer: the binary (Debian-patched tree) wins
    assert best[Upstream.parse("5.10.218")].kind == apt.BINARY
    # two revisions of 6.1.176: 6.1.176-1 sorts after 6.1.176-1~deb11u1
    assert best[Upstream.parse("6.1.176")] == apt.Offer("linux-source-6.1", "6.1.176-1",
                                                        apt.BINARY)
    # among source offers the latest revision wins too
    assert best[Upstream.parse("6.1.164")].version == "6.1.164-1~deb11u1"


def test_choose_exact_debian_revision():
    got = apt.choose(parse_request("6.1.176-1~deb11u1"), offers())
    assert got == apt.Offer("linux-source-6.1", "6.1.176-1~deb11u1", apt.BINARY)
    assert apt.choose(parse_request("5.10.251-1"), offers()).kind == apt.ORIG


def test_unknown_version_lists_the_offered_versions():
    with pytest.raises(UserError) as exc:
        apt.choose(parse_request("5.10.99"), offers())
    msg = str(exc.value)
    assert "unknown version 5.10.99" in msg
    assert "5.10.13, 5.10.28, 5.10.46, 5.10.218, 5.10.223" in msg
    assert "6.1.192" in msg


def test_unknown_revision_lists_the_revisions_of_that_version():
    with pytest.raises(UserError, match=r"5\.10\.251-1, 5\.10\.251-5$"):
        apt.choose(parse_request("5.10.251-2"), offers())


def test_nothing_on_offer_names_the_apt_sources():
    with pytest.raises(UserError, match="bullseye apt sources"):
        apt.choose(parse_request("5.10.46"), [])


def test_binary_artifact_from_apt_cache_show():
    offer = apt.Offer("linux-source-5.10", "5.10.223-1", apt.BINARY)
    art = apt.binary_artifact(offer, SHOW_223)
    assert art.filename == "linux-source-5.10_5.10.223-1_all.deb"
    assert art.size == 121562870
    assert art.sha256.startswith("f733d27d")
    with pytest.raises(InfraError, match="apt-get update"):
        apt.binary_artifact(apt.Offer("linux-source-5.10", "5.10.999-1", apt.BINARY), SHOW_223)


def test_orig_artifact_from_showsrc():
    art = apt.orig_artifact(apt.Offer("linux", "5.10.46-4", apt.ORIG), SHOWSRC)
    assert (art.filename, art.size) == ("linux_5.10.46.orig.tar.xz", 121572512)
    assert art.sha256.startswith("bcd8edcb")
    art = apt.orig_artifact(apt.Offer("linux", "5.10.218-1", apt.ORIG), SHOWSRC)
    assert art.filename == "linux_5.10.218.orig.tar.xz"
    with pytest.raises(InfraError, match="does not list"):
        apt.orig_artifact(apt.Offer("linux", "5.10.13-1", apt.ORIG), SHOWSRC)


def test_paragraph_continuation_lines():
    para = apt.parse_paragraphs(SHOWSRC)[0]
    assert para["Binary"].endswith("linux-headers-5.10.0-8-common")
    assert para["Extra-Source-Only"] == "yes"
    assert len(apt.parse_paragraphs(SHOWSRC)) == 2


def test_cached_checks_size_and_checksum(tmp_path):
    data = b"kernel" * 10
    import hashlib

    f = tmp_path / "linux_1.0.orig.tar.xz"
    f.write_bytes(data)
    art = apt.Artifact(apt.Offer("linux", "1.0-1", apt.ORIG), f.name, len(data),
                       hashlib.sha256(data).hexdigest())
    assert apt.cached(art, tmp_path) == f
    f.write_bytes(data[:-1] + b"X")  # same size, corrupt: removed so it is fetched again
    assert apt.cached(art, tmp_path) is None
    assert not f.exists()
