"""End-to-end test framework: runs against the emulated SR-IOV hypervisor (tests/lab/lab.py).

Fixtures
  lab          session-scoped: starts (or reuses) instance ``lab`` (2 igb PFs, VT-d, IOMMU
               kernel args) and yields a :class:`Lab`.
  lab_factory  session-scoped: ``lab_factory("lab-noargs", "--no-iommu-cmdline")`` starts a
               second instance with other options; instances it started are stopped at the
               end of the session.

A :class:`Lab` has ``inventory_path``, ``ssh(cmd)``, ``run_playbook(...)``,
``run_target(target, tasks, extra_vars)`` (a task file of tests/integration/targets),
``reboot()``, ``fresh()`` and ``stop()``.

  lab_module   function-scoped: pytest-ansible's module dispatcher for the ``lab`` host, so a
               single-module check is one line: ``lab_module("virt.sriov.sriov_info")`` returns
               the module's result (no check mode: see tests/lab/README.md).

``VIRT_SRIOV_LAB_LIBVIRT=11`` runs the ``lab`` fixture on the libvirt 11.3 variant of the image
(``lab.py --libvirt 11``), as instance ``$VIRT_SRIOV_LAB_NAME-libvirt11`` (default
``lab-libvirt11``), so it never restarts the libvirt 9.0 instance; ``lab.libvirt`` says which.

If the lab cannot run (no QEMU 10, build failure, no ansible-playbook) every test marked
``lab`` FAILS with the reason. With ``VIRT_SRIOV_LAB=skip`` they are skipped instead, loudly.
The ``lab`` instance is left running for the next pytest run (set VIRT_SRIOV_LAB_STOP=1 to stop
it at the end).
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_PY = os.path.join(REPO, "tests", "lab", "lab.py")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
SKIP = os.environ.get("VIRT_SRIOV_LAB", "").lower() == "skip"
SKIP_REASON = ("!!! VIRT_SRIOV_LAB=skip: end-to-end tests against the emulated SR-IOV "
               "hypervisor were NOT run !!!")


def _load_lab_module():
    spec = importlib.util.spec_from_file_location("virt_sriov_lab", LAB_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


labmod = _load_lab_module()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lab: end-to-end test against the emulated SR-IOV hypervisor (tests/lab)")


def pytest_collection_modifyitems(config, items):
    if not SKIP:
        return
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if SKIP:
        terminalreporter.write_sep("!", SKIP_REASON, red=True, bold=True)


def find_ansible_playbook():
    cands = [os.environ.get("ANSIBLE_PLAYBOOK"),
             os.path.join(REPO, ".venv", "bin", "ansible-playbook"),
             os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
             shutil.which("ansible-playbook")]
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    return None


def lab_unavailable(msg):
    """Fail (or, with VIRT_SRIOV_LAB=skip, skip) with a clear message."""
    if SKIP:
        pytest.skip(f"{SKIP_REASON} ({msg})")
    pytest.fail(f"the SR-IOV lab cannot run: {msg}\n"
                "(set VIRT_SRIOV_LAB=skip to skip the end-to-end tests instead)", pytrace=False)


@dataclass
class TaskResult:
    play: str
    task: str
    action: str
    host: str
    status: str  # ok | changed | failed | ignored | skipped | unreachable
    changed: bool
    failed: bool
    result: dict


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    tasks: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    duration: float = 0.0

    def task(self, name, host=None):
        """The (last) result of the task named ``name`` (optionally on ``host``)."""
        found = [t for t in self.tasks if t.task == name and (host is None or t.host == host)]
        if not found:
            raise KeyError(f"no result for task {name!r}; tasks: {[t.task for t in self.tasks]}")
        return found[-1]

    @property
    def changed(self):
        return any(t.changed for t in self.tasks)

    @property
    def failed_tasks(self):
        return [t for t in self.tasks if t.status in ("failed", "unreachable")]

    def __str__(self):
        return (f"rc={self.rc} ({self.duration:.0f}s)\n--- stdout ---\n{self.stdout[-6000:]}"
                f"\n--- stderr ---\n{self.stderr[-3000:]}")


class Lab:
    """One running lab instance."""

    def __init__(self, name, options=(), workdir=None):
        self.name = name
        self.options = list(options)
        self.libvirt = (self.options[self.options.index("--libvirt") + 1]
                        if "--libvirt" in self.options else labmod.LIBVIRT_DEFAULT)
        self.inst = labmod.Instance(name)
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"e2e-{name}-")
        self.inventory_path = os.path.join(self.workdir, "inventory.ini")
        self._collections = None

    # -- lifecycle (through lab.py, so the CLI is what gets exercised) --
    def lab_py(self, *args, check=True, timeout=1800):
        """Run lab.py for this instance; its progress lines are echoed live to stderr."""
        cmd = [sys.executable, LAB_PY, "--name", self.name, *self.options, *args]
        proc = subprocess.Popen(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = []
        deadline = time.time() + timeout
        for line in proc.stderr:  # lab.py prints progress at least every ~10 s while waiting
            err.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()
            if time.time() > deadline:
                proc.kill()
                break
        out = proc.stdout.read()
        rc = proc.wait()
        p = subprocess.CompletedProcess(cmd, rc, out, "".join(err))
        if check and rc != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed ({rc}):\n{p.stderr[-1500:]}")
        return p

    def start(self, fresh=False):
        timeout = os.environ.get("VIRT_SRIOV_LAB_TIMEOUT", "900")
        self.lab_py("start", "--timeout", timeout, *(["--fresh"] if fresh else []))
        self.lab_py("inventory", "--write", self.inventory_path)
        return self

    def fresh(self):
        """Restart this instance on a clean disk overlay (a full boot: minutes under TCG)."""
        return self.start(fresh=True)

    def reboot(self):
        """Reboot the guest and wait until SSH answers with a new boot_id."""
        self.lab_py("reboot")
        return self

    def stop(self):
        self.lab_py("stop")

    # -- access --
    def ssh(self, cmd, check=False, timeout=300):
        """Run a shell command in the guest as root; returns CompletedProcess (text)."""
        p = self.inst.ssh(cmd, timeout=timeout, capture_output=True)
        if check and p.returncode != 0:
            raise AssertionError(f"ssh {cmd!r} -> rc {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    @contextlib.contextmanager
    def pf_kept(self, cleanup, pf="enp1s0", timeout=300):
        """Run the shell script ``cleanup`` before and after the block, then give ``pf`` back the
        VF count and the link state (up or down) it had before."""
        sysfs = f"/sys/class/net/{pf}/device/sriov_numvfs"
        state = self.ssh(f"cat {sysfs}; cat /sys/class/net/{pf}/flags", check=True).stdout.split()
        numvfs, flags = state[0], int(state[1], 16)
        self.ssh(cleanup, timeout=timeout)
        try:
            yield self
        finally:
            self.ssh(cleanup, timeout=timeout)
            if numvfs != "0":
                self.ssh(f"echo {numvfs} > {sysfs}; udevadm settle", timeout=120)
            self.ssh(f"ip link set {pf} {'up' if flags & 1 else 'down'}")

    def run_target(self, target, tasks="main", extra_vars=None, **kw):
        """``run_playbook`` of the integration target's task file (tests/integration/targets/
        <target>/tasks/<tasks>.yml) with ``extra_vars``."""
        return self.run_playbook(target_playbook(target, tasks), extra_vars=extra_vars, **kw)

    def collections_path(self):
        if self._collections is None:
            d = os.path.join(self.workdir, "collections")
            ns = os.path.join(d, "ansible_collections", "virt")
            os.makedirs(ns, exist_ok=True)
            link = os.path.join(ns, "sriov")
            if not os.path.islink(link):
                os.symlink(REPO, link)
            self._collections = d
        return self._collections

    def run_playbook(self, playbook, extra_vars=None, check=False, diff=False,
                     expect_failure=False, timeout=1800, args=()):
        """Run ansible-playbook against this lab.

        ``playbook`` is a path or the YAML text of a playbook. Returns a PlaybookResult with
        per-task results (from the lab_results callback). Raises AssertionError if the run
        fails (or, with expect_failure=True, if it succeeds)."""
        exe = find_ansible_playbook()
        if not exe:
            lab_unavailable("ansible-playbook not found (make venv, or set ANSIBLE_PLAYBOOK)")
        if "\n" in playbook or not os.path.exists(playbook):
            fd, path = tempfile.mkstemp(prefix="play-", suffix=".yml", dir=self.workdir)
            with os.fdopen(fd, "w") as f:
                f.write(playbook)
        else:
            path = os.path.abspath(playbook)
        results = os.path.join(self.workdir, f"results-{time.time_ns()}.json")
        coll = self.collections_path()
        extra = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
        env = dict(os.environ,
                   ANSIBLE_PIPELINING="1",
                   ANSIBLE_COLLECTIONS_PATH=coll + (os.pathsep + extra if extra else ""),
                   ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                   ANSIBLE_CALLBACKS_ENABLED="lab_results",
                   LAB_RESULTS_FILE=results,
                   ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_RETRY_FILES_ENABLED="False",
                   ANSIBLE_NOCOLOR="1",
                   ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=300s",
                   ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
        cmd = [exe, "-i", self.inventory_path, path]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(args)
        t0 = time.time()
        p = subprocess.run(cmd, env=env, cwd=self.workdir, text=True, capture_output=True,
                           timeout=timeout, check=False)
        res = PlaybookResult(p.returncode, p.stdout, p.stderr, duration=time.time() - t0)
        if os.path.exists(results):
            with open(results) as f:
                data = json.load(f)
            res.tasks = [TaskResult(**t) for t in data["tasks"]]
            res.stats = data["stats"]
        if expect_failure and p.returncode == 0:
            raise AssertionError(f"playbook succeeded but a failure was expected:\n{res}")
        if not expect_failure and p.returncode != 0:
            raise AssertionError(f"playbook failed:\n{res}")
        return res


TARGETS = os.path.join(REPO, "tests", "integration", "targets")


def target_playbook(target, tasks="main"):
    """The YAML text of a one-play playbook that runs tests/integration/targets/<target>/tasks/
    <tasks>.yml on every host of the inventory (the lab scenarios kept as YAML)."""
    path = os.path.join(TARGETS, target, "tasks", tasks + ".yml")
    if not os.path.isfile(path):
        raise AssertionError(f"no such integration target task file: {path}")
    play = [{"name": f"{target}: {tasks}", "hosts": "all", "gather_facts": False,
             "tasks": [{"name": f"Run {target}/tasks/{tasks}.yml",
                        "ansible.builtin.include_tasks": path}]}]
    return json.dumps(play, indent=1) + "\n"


def _start_lab(name, options, fresh=False, register=None):
    missing = labmod.missing_deps()
    if missing:
        lab_unavailable("host is missing " + "; ".join(missing) +
                        f" (run: python3 {LAB_PY} deps)")
    lab = Lab(name, options)
    if register is not None:
        register[name] = lab  # so teardown stops it even when the start fails
    try:
        lab.start(fresh=fresh)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        lab_unavailable(str(e))
    return lab


@pytest.fixture(scope="session")
def lab():
    """The default lab instance (reused when already running with the same config)."""
    if SKIP:
        pytest.skip(SKIP_REASON)
    name = os.environ.get("VIRT_SRIOV_LAB_NAME", "lab")
    options = []
    libvirt = os.environ.get("VIRT_SRIOV_LAB_LIBVIRT", labmod.LIBVIRT_DEFAULT)
    if libvirt not in labmod.LIBVIRT_BACKPORTS:
        lab_unavailable(f"VIRT_SRIOV_LAB_LIBVIRT={libvirt!r}: valid are "
                        + ", ".join(sorted(labmod.LIBVIRT_BACKPORTS, key=int)))
    if libvirt != labmod.LIBVIRT_DEFAULT:
        name, options = f"{name}-libvirt{libvirt}", ["--libvirt", libvirt]
    fresh = os.environ.get("VIRT_SRIOV_LAB_FRESH") == "1"
    lab = _start_lab(name, options, fresh=fresh)
    yield lab
    if os.environ.get("VIRT_SRIOV_LAB_STOP") == "1":
        lab.stop()


@pytest.fixture(scope="session")
def lab_factory():
    """Start extra instances: ``lab_factory("lab-amd", "--iommu", "amd")``."""
    if SKIP:
        pytest.skip(SKIP_REASON)
    started = {}

    def make(name, *options, fresh=False):
        if name in started:
            return started[name]
        return _start_lab(name, options, fresh=fresh, register=started)

    yield make
    for lab in started.values():
        if os.environ.get("VIRT_SRIOV_LAB_KEEP") != "1":
            lab.stop()


# ------------------------------------------------------------------ pytest-ansible (single modules)

@pytest.fixture(scope="session")
def _adhoc_collections(tmp_path_factory):
    """Put this collection on the collection path of pytest-ansible.

    pytest-ansible runs modules inside the pytest process and resolves them through
    ``ansible.constants.COLLECTIONS_PATHS``, which ansible read from its configuration when the
    plugin was loaded, before this file. A directory holding ``ansible_collections/virt/sriov``
    (a link to this checkout) goes first in that list, in place, so it is also the list the
    plugin's module dispatcher passes to ansible's collection loader.
    """
    import ansible.constants

    root = tmp_path_factory.mktemp("collections")
    namespace = root / "ansible_collections" / "virt"
    namespace.mkdir(parents=True)
    (namespace / "sriov").symlink_to(REPO)
    paths = ansible.constants.COLLECTIONS_PATHS
    if not isinstance(paths, list):
        pytest.fail(f"ansible.constants.COLLECTIONS_PATHS is a {type(paths).__name__}, not a list: "
                    "pytest-ansible cannot be pointed at this collection; set ANSIBLE_COLLECTIONS_PATH "
                    "to a directory holding ansible_collections/virt/sriov before pytest starts")
    paths.insert(0, str(root))
    yield str(root)
    paths.remove(str(root))


@pytest.fixture
def lab_module(lab, ansible_adhoc, _adhoc_collections):
    """``lab_module(module, **args)``: the result of one module run on the lab host.

    The run goes through pytest-ansible (``ansible_adhoc``) with the lab's own inventory; a host
    that does not answer raises pytest-ansible's AnsibleConnectionFailure. pytest-ansible 26.x
    accepts ``check=True`` but does not pass it to the play it builds, so modules run for real:
    use it for read-only modules and for changes a test sets up itself.
    """
    def run(module, **args):
        hosts = ansible_adhoc(inventory=lab.inventory_path, host_pattern=lab.name)
        contacted = getattr(hosts[lab.name], module)(**args)
        return contacted[lab.name]

    return run
