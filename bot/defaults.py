"""Named defaults, in one place: timeouts, retries, paths, identities."""

from __future__ import annotations

import os
from pathlib import Path

# --- timeouts (seconds) -------------------------------------------------------------
TIMEOUT_DEFAULT = 120          # any external program not listed below
TIMEOUT_GIT = 600              # git on a kernel tree (checkout of 70k files, commit-tree)
TIMEOUT_GIT_IMPORT = 1800      # git add/commit of a whole kernel release
TIMEOUT_APT = 1800             # apt-get download of a ~120 MB package
TIMEOUT_UNPACK = 900           # dpkg-deb / tar of a kernel source tarball
TIMEOUT_APT_QUERY = 120        # apt-cache madison / show / showsrc
TIMEOUT_MIRROR_LOCK = 3600     # waiting for another `cocci-bot mirror` on the same repo
TIMEOUT_SPATCH_FILE = 120      # spatch --timeout: per file
TIMEOUT_SPATCH_RUN = 1800      # a whole spatch invocation
TIMEOUT_BUILD = 3600           # one kernel build
TIMEOUT_BOOT = 300             # one QEMU boot, whole deadline
TIMEOUT_KVM_PROBE = 1.0        # the host KVM probe's guest, from its first KVM_RUN (bot/boot/kvmprobe.py)
TIMEOUT_KVM_PROBE_START = 30   # the probe process reaching its first KVM_RUN (Python start-up on a busy host)
KVM_PROBE_MAX_EXIT_US = 25     # mean guest-exit cost above which TCG boots faster (66 us measured nested)
TIMEOUT_KVM_FIRST_LINE = 10    # a boot KVM passed the probe for: its first console line, else TCG
TIMEOUT_HTTP = 30              # one request to the review queue

# --- retries --------------------------------------------------------------------------
BOOT_INFRA_RETRIES = 3
BOOT_SMOKE_STALL_RETRIES = 2      # fresh boots after a TCG nested-SVM smoke stall (bot/boot/run.py)
HTTP_RETRIES = 3

# --- campaigns ------------------------------------------------------------------------
CAMPAIGN = "kvm-refcounted-pfn"   # the campaign run when none is configured ([[tree]] campaigns,
                                  # `cocci-bot build --campaign`)

# --- spatch ---------------------------------------------------------------------------
SPATCH_JOBS = max(1, os.cpu_count() or 1)

# --- cocci-bot mirror: where kernel releases come from ------------------------------------
# binary packages whose .deb carries /usr/src/linux-source-X.Y.tar.xz (Debian-patched tree)
MIRROR_BINARY_PACKAGES = ("linux-source-5.10", "linux-source-6.1")
# source packages whose orig tarball is the fallback for releases no binary package carries
MIRROR_SOURCE_PACKAGES = ("linux", "linux-6.1")
MIRROR_REPO = Path("mirrors") / "debian-linux.git"   # relative to the data dir
MIRROR_MIN_FREE_BYTES = 3 * 10**9  # an unpacked kernel release is ~1.1 GB, its objects ~0.3 GB

# --- identities -------------------------------------------------------------------------
BOT_NAME = "cocci-bot"          # the bot's account name in the review queue
# The mirror's release commits are data, never mailed: a fixed identity keeps a release's commit
# id the same on every machine. `.invalid` (RFC 2606) says plainly it is no one's address. The
# series' author is the configured identity or the bot (same `.invalid` rule); its Signed-off-by
# the configured identity's and the approving maintainer's (bot/apply/identity.py).
MIRROR_IDENT = ("cocci-bot mirror", "mirror@cocci-bot.invalid")


def data_dir() -> Path:
    """Default state directory: $XDG_DATA_HOME/cocci-bot or ~/.local/share/cocci-bot."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cocci-bot"


def cache_dir() -> Path:
    """Downloads (Debian packages) live here, shared by every data dir of the user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cocci-bot"


def project_root() -> Path:
    """The checkout (or install prefix) that holds semantic_patches/."""
    return Path(__file__).resolve().parent.parent

# --- review queue (bot/review, bot/post) ------------------------------------------------
REVIEW_HOST = "127.0.0.1"
REVIEW_PORT = 8000
REVIEW_WORKERS = 2                     # gunicorn worker processes
REVIEW_THREADS = 8                     # threads per worker (gthread)
REVIEW_REQUEST_TIMEOUT = 60            # gunicorn: a request running longer is killed
REVIEW_SQLITE_BUSY_TIMEOUT = 20        # seconds a SQLite writer waits for the lock
REVIEW_MAX_POST_BYTES = 8 * 1024 * 1024    # one series creation request, all patches included
REVIEW_MAX_PATCHES = 500               # patches in one series
REVIEW_MAX_LOG_BYTES = 512 * 1024      # a check's log kept by the queue (tail)
REVIEW_CACHE_ENTRIES = 2000            # rendered anonymous reads kept per worker process
REVIEW_PAGE_SIZE = 30                  # API page size, as Patchwork
REVIEW_MAX_PAGE_SIZE = 250
REVIEW_STORE_ATTEMPTS = 3             # storing a series that races another post
REVIEW_START_TIMEOUT = 30              # waiting for a spawned server to answer
REVIEW_MAX_JSON_DEPTH = 32             # lists/objects nested in one API request body
REVIEW_MAX_DESCRIPTION = 2000          # characters of a check's description (Patchwork: free)
REVIEW_MAX_COMMENT = 64 * 1024         # characters of one comment
REVIEW_MAX_ID = 2**63 - 1              # ids in paths and filters (a 64-bit key)
# the states a newer version (or an absorbed release) replaces; any other is a decision kept
REVIEW_SUPERSEDE_STATES = ("new", "under-review", "changes-requested")
REVIEW_WEBHOOK_TIMEOUT = 10            # seconds a hook's receiver has to answer one POST
REVIEW_WEBHOOK_ATTEMPTS = 10           # tries per event before it is given up (and logged)
REVIEW_WEBHOOK_BACKOFF = 1.0           # seconds before the first retry, doubling ...
REVIEW_WEBHOOK_BACKOFF_MAX = 300.0     # ... up to this
REVIEW_WEBHOOK_POLL = 1.0              # seconds between looks for new events
REVIEW_WEBHOOK_BATCH = 100             # events read at a time
REVIEW_MAX_BULK = 500                  # series one bulk decision may change
REVIEW_TODO_STATES = ("new", "under-review")   # series waiting for a maintainer's decision
REVIEW_WEB_PAGE_SIZE = 50              # series per page on the queue and project pages
REVIEW_LOGIN_FAILURES = 5              # failed logins for one account from one address ...
REVIEW_LOGIN_ADDRESS_FAILURES = 20     # ... or from one address for any accounts ...
REVIEW_LOGIN_WINDOW = 15 * 60          # ... within this many seconds lock it out for the window
# --- build and boot stages ---------------------------------------------------------------
BUILD_JOBS = max(1, os.cpu_count() or 1)    # make -j for kernel builds
BUILD_ARCH = "x86_64"
BUILD_TOOLCHAIN = "gcc"
BUILD_BASE_CONFIG = "tinyconfig"             # the fragment is merged on top of this
BUILD_FRAGMENT = "kernel.config"             # file name of a campaign's config fragment
# make variables for every kernel build: the host tools of older trees (5.10's objtool/libsubcmd)
# build with -Werror and trip over newer gcc warnings (gcc 12: -Wuse-after-free); WERROR=0 only
# reaches tools/, kernel objects and their warnings are untouched (5.10 has no kernel WERROR knob)
BUILD_MAKE_VARIABLES = ("WERROR=0",)
TIMEOUT_BUILD_CHECKOUT = TIMEOUT_GIT         # git worktree / checkout of a kernel tree
TIMEOUT_GUEST_CC = 120                       # gcc -static of one guest program
BOOT_MEMORY_MB = 512
BOOT_CPU_TCG = "qemu64,+svm"                 # SVM without nested paging: KVM_RUN works under TCG
BOOT_CPU_KVM = "host"
# the DAX check's emulated persistent memory: 128 MiB of guest RAM at 256 MiB become legacy pmem
# (e820 type 12); 128 MiB-aligned because 4.20 hot-plugs ZONE_DEVICE memory by whole sections
BOOT_DAX_MEMMAP = "memmap=128M!256M"
BOOT_TCG_ICOUNT = "shift=auto,sleep=off"     # TCG clocks from executed instructions (bot/boot/qemu.py)
BOOT_CMDLINE = ("console=ttyS0", "panic=-1", "rdinit=/init")
BOOT_DONE_GRACE = 10                         # seconds QEMU gets to exit after the guest's last line
BOOT_POLL = 0.2                              # how often the boot stage looks at QEMU and the logs
QEMU = "qemu-system-x86_64"


def ccache_dir() -> Path:
    """Where kernel builds keep their ccache (shared by runs, like downloads)."""
    return cache_dir() / "ccache"
# --- the main job (bot/pipeline) -----------------------------------------------------------
RETRY_BACKOFF_FIRST = 60               # seconds before a job that ended in ERROR is tried again
RETRY_BACKOFF_MAX = 6 * 3600           # the back-off doubles per error in a row, up to this
BOT_TOKEN_FILE = "bot-token"           # the bot's own queue token, in the data dir (mode 0600)

# --- scale-out: Celery workers (bot/workers) -------------------------------------------------
# An unacknowledged stage is delivered again after this long (late ack). It must exceed the
# longest stage: a build is a base and a patched kernel (TIMEOUT_BUILD each) plus checkout.
WORKER_VISIBILITY_TIMEOUT = 3 * TIMEOUT_BUILD
WORKER_QUEUES = ("apply", "build", "boot", "post")   # the stage -> queue routing in bot/workers
WORKER_CONCURRENCY = 1                 # stages one worker runs at once (a build uses every core)
WORKER_LOCK_POLL = 2.0                 # seconds between tries for a lock another worker holds
# a worker running a stage beats in the job store every HEARTBEAT_INTERVAL s; a RUNNING job whose
# last beat is older than HEARTBEAT_STALE s lost its worker: a live worker (checking every
# HEARTBEAT_RESCUE s) queues the job's stage again, once (docs/operations.md)
HEARTBEAT_INTERVAL = 10
HEARTBEAT_STALE = 60
HEARTBEAT_RESCUE = 15
WORKER_PING_TIMEOUT = 10               # `cocci-bot worker --ping` / --check

# --- watching, regeneration and mail (bot/pipeline/watch.py, bot/drafts) --------------------
TIMEOUT_FETCH = 3600                   # one `git fetch` of a watched remote (a first clone)
WATCH_APT_UPDATE_EVERY = 3600          # seconds between `apt-get update`s for releases globs
TIMEOUT_RANGE_DIFF = 300               # git range-diff of two series
TIMEOUT_SEND_EMAIL = 600               # git send-email (dry run or a real send) of one series
MAIL_WINDOW = 24 * 3600                # the budgets count the messages of the last 24 hours
MAIL_DAILY_LIMIT = 20                  # [mail] daily_limit: messages a day, every list together
MAIL_LIST_DAILY_LIMIT = 10             # [[mail.list]] daily_limit: messages a day to one list
MAIL_EMBARGO_HOURS = 24.0              # [[mail.list]] embargo_hours: approval to first send
