"""bench/run: measure virt.sriov against its baselines and write bench/results.md.

Every figure is a ratio of two commands run alternately in the same run (A B A B ...).
See bench/README.md.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import stats
from benchenv import BENCH, REPO, WORK, collections_path

VENV = os.path.join(REPO, ".venv")
PLAYBOOK = os.path.join(VENV, "bin", "ansible-playbook")
BASELINE_SITE = os.path.join(BENCH, ".venv-baseline", "lib",
                             "python%d.%d" % sys.version_info[:2], "site-packages")
PB = os.path.join(BENCH, "playbooks")
LAB_PY = os.path.join(REPO, "tests", "lab", "lab.py")
SNAPSHOT = "bench-fresh"
# Shell command run in the fresh guest before the snapshot, so every tool starts from it (a
# workaround hook for a role that cannot converge a fresh host; empty: none needed).
LAB_PREPARE = ""


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# ------------------------------------------------------------------------------ ansible runs
def ansible_env(extra_collections=None, mitogen=False, forks=None):
    coll = collections_path()
    if extra_collections:
        coll += os.pathsep + extra_collections
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=coll,
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_times",
               ANSIBLE_PIPELINING="1",
               ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="False",
               ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=300s",
               ANSIBLE_SSH_CONTROL_PATH_DIR=tempfile.mkdtemp(prefix="cp-", dir=WORK))
    if forks:
        env["ANSIBLE_FORKS"] = str(forks)
    if mitogen:
        import ansible_mitogen
        env["ANSIBLE_STRATEGY_PLUGINS"] = os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")
        env["ANSIBLE_STRATEGY"] = "mitogen_linear"
    return env


# -vvv prints one line per remote execution: "<host> SSH: EXEC ..." over SSH (with pipelining one
# per module run; a file transfer is one more), "<host> EXEC ..." on the local connection.
EXEC_LINE = re.compile(r"^<([^>]+)> (?:SSH: )?EXEC ", re.M)


def count_executions(stdout):
    """{host as -vvv names it: remote executions} from the output of a -vvv run."""
    counts = {}
    for host in EXEC_LINE.findall(stdout):
        counts[host] = counts.get(host, 0) + 1
    return counts


def run_playbook(playbook, inventories, env, args=(), label="", count=False):
    """Run ansible-playbook; return {wall, rc, tasks, stats, changed, ok, ...}. ``count``: run
    at -vvv and return the remote executions per host in ``executions``."""
    fd, times = tempfile.mkstemp(prefix="times-", suffix=".json", dir=WORK)
    os.close(fd)
    os.unlink(times)  # the callback writes it at the end of the run
    env = dict(env, BENCH_TIMES_FILE=times)
    cmd = [PLAYBOOK]
    for inv in inventories:
        cmd += ["-i", inv]
    cmd += [playbook] + list(args) + (["-vvv"] if count else [])
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=WORK, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    out = {"wall": wall, "rc": p.returncode, "label": label}
    if count:
        out["executions"] = count_executions(p.stdout)
    if os.path.exists(times):
        with open(times) as handle:
            data = json.load(handle)
        os.unlink(times)
        out["tasks"] = data["tasks"]
        out["stats"] = data["stats"]
        out["ok"] = sum(s["ok"] for s in data["stats"].values())
        out["changed"] = sum(s["changed"] for s in data["stats"].values())
        out["failures"] = sum(s["failures"] + s["unreachable"] for s in data["stats"].values())
        out["skipped"] = sum(s["skipped"] for s in data["stats"].values())
    if p.returncode != 0:
        out["error"] = (p.stdout[-3000:] + "\n" + p.stderr[-2000:]).strip()
        log("%s failed (rc %d):\n%s" % (label or playbook, p.returncode, out["error"][-2500:]))
    log("%s: %.1fs rc=%d changed=%s%s" % (label or os.path.basename(playbook), wall, p.returncode, out.get("changed"),
                                          " executions=%s" % out["executions"] if count else ""))
    return out


# ------------------------------------------------------------------------------ item 3
def item_discovery(args):
    import discovery
    work = os.path.join(WORK, "trees")
    os.makedirs(work, exist_ok=True)
    res = []
    for pfs, vfs, domains in ((16, 64, 50), (16, 256, 500)):
        log("discovery %dx%d, %d domains" % (pfs, vfs, domains))
        res.append(discovery.measure(work, pfs, vfs, domains, args.pairs))
    res_profile = profile_discovery(work)
    return {"sizes": res, "profile": res_profile}


def profile_discovery(work):
    """Where the collection's walk spends its time (16x256, libvirt off), and the file system
    calls of both walks: evidence for the report."""
    import cProfile
    import io
    import pstats
    import discovery
    import libvirt
    root, node, ip = discovery.prepare(work, 16, 256, 500)
    conn = libvirt.open("test://" + os.path.abspath(node))
    out = {"calls": {}}
    for name, fn in (("collection", discovery.collection), ("floor", discovery.floor)):
        prof = cProfile.Profile()
        prof.enable()
        fn(root, conn, ip, False)
        prof.disable()
        buf = io.StringIO()
        st = pstats.Stats(prof, stream=buf)
        counts = {}
        for (_file, _line, func), (_cc, nc, _tt, _ct, _callers) in st.stats.items():
            for call in ("lstat", "readlink", "stat", "listdir", "open"):
                if func in ("<built-in method posix.%s>" % call, "<built-in method io.%s>" % call):
                    counts[call] = counts.get(call, 0) + nc
        out["calls"][name] = counts
        if name == "collection":
            st.sort_stats("tottime").print_stats(8)
            out["top"] = [line.replace(os.path.join(WORK, "collections") + "/", "")
                          for line in buf.getvalue().splitlines() if line.strip()][-9:]
    conn.close()
    return out


# ------------------------------------------------------------------------------ item 4
FLEET_TREES = 2  # 2: an executable usr/sbin/ip (sriov_udev_rule link_up)


def fleet_inventory(hosts):
    import fakes
    base = os.path.join(WORK, "fleet")
    # Bump FLEET_TREES when fakes.build_tree changes: the trees are reused across runs.
    inv = os.path.join(base, "inventory-%d-v%d.json" % (hosts, FLEET_TREES))
    if os.path.exists(inv):
        return inv
    os.makedirs(base, exist_ok=True)
    hostvars = {}
    for i in range(hosts):
        root = os.path.join(base, "host%03d" % i)
        fake, addresses = fakes.build_tree(root, 2, 4, totalvfs=7, card="igb")
        fakes.write_ip_cache(fake, addresses)
        hostvars["fleet%03d" % i] = {"bench_root": root}
    data = {"fleet": {"hosts": hostvars, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": os.path.join(VENV, "bin", "python"),
        "bench_fakebin": os.path.join(BENCH, "fakebin")}}}
    with open(inv + ".tmp", "w") as handle:
        json.dump(data, handle)
    os.rename(inv + ".tmp", inv)
    return inv


def item_fleet(args):
    inv = fleet_inventory(args.fleet_hosts)
    out = {"hosts": args.fleet_hosts, "forks": {}}
    for forks in args.fleet_forks:
        env = ansible_env(forks=forks)
        runs = []

        def role():
            r = run_playbook(os.path.join(PB, "fleet_vfs.yml"), [inv], env, ["--check"], "fleet role forks=%d" % forks)
            runs.append(("role", r))
            return r["wall"]

        def ping():
            r = run_playbook(os.path.join(PB, "fleet_ping.yml"), [inv], env, [], "fleet ping forks=%d" % forks)
            runs.append(("ping", r))
            return r["wall"]

        pairs = stats.alternate(role, ping, args.fleet_pairs)
        if "executions" not in out:
            # counted once, on one host, outside the timed pairs (-vvv output of 100 hosts would
            # load the controller and skew the timing)
            one = ["--limit", "fleet000"]
            out["executions"] = {
                "role": run_playbook(os.path.join(PB, "fleet_vfs.yml"), [inv], env, ["--check"] + one,
                                     "fleet role, counted", count=True).get("executions"),
                "ping": run_playbook(os.path.join(PB, "fleet_ping.yml"), [inv], env, one,
                                     "fleet ping, counted", count=True).get("executions"),
            }
        out["forks"][str(forks)] = {
            "pairs": pairs,
            "failed_runs": [label for label, r in runs if r["rc"] != 0],
            "role_changed": [r.get("changed") for label, r in runs if label == "role"],
            "role_ok": [r.get("ok") for label, r in runs if label == "role"],
        }
    return out


# ------------------------------------------------------------------------------ lab
def load_lab():
    spec = importlib.util.spec_from_file_location("virt_sriov_lab", LAB_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BenchLab(object):
    """Instance ``bench`` of tests/lab, reset between first runs with a QEMU snapshot taken
    right after a fresh boot (loadvm restores RAM, devices and the disk overlay in seconds)."""

    def __init__(self, name):
        self.name = name
        self.labmod = load_lab()
        self.inst = self.labmod.Instance(name)
        self.inventory = os.path.join(WORK, "lab-%s.ini" % name)
        self.resets = []

    def lab_py(self, *a, **kw):
        return subprocess.run([sys.executable, LAB_PY, "--name", self.name] + list(a), check=kw.get("check", True))

    def start(self, reuse=False):
        """Fresh boot (or, with reuse, an instance bench/run just booted and nothing touched)."""
        t0 = time.time()
        p = self.lab_py("start", "--timeout", "1500", *([] if reuse else ["--fresh"]), check=False)
        if p.returncode != 0:  # a boot on a loaded machine can outlast lab.py's wait
            self.lab_py("wait", "--timeout", "1500")
        self.boot_s = time.time() - t0
        self.lab_py("inventory", "--write", self.inventory)
        q = self._qmp()
        have = SNAPSHOT in (q.cmd("human-monitor-command", **{"command-line": "info snapshots"}) or "")
        if reuse and have:
            log("reusing snapshot %s of the running instance (taken after its fresh boot)" % SNAPSHOT)
            q.hmp("loadvm " + SNAPSHOT)
            self.inst.close_master()
        else:
            # let the guest's boot-time services settle before the snapshot
            self.inst.ssh("systemctl is-system-running --wait >/dev/null 2>&1; true", timeout=300)
        if LAB_PREPARE:
            self.inst.ssh(LAB_PREPARE, timeout=300, check=True)
        q.hmp("savevm " + SNAPSHOT + "-prepared")
        q.close()

    def _qmp(self):
        import qmp
        return qmp.Qmp(self.inst.qmp)

    def reset(self):
        t0 = time.time()
        q = self._qmp()
        q.hmp("loadvm " + SNAPSHOT + "-prepared")
        q.close()
        self.inst.close_master()
        p = self.inst.ssh("true", timeout=300, capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("lab did not answer after loadvm")
        self.resets.append(time.time() - t0)

    def stop(self):
        self.lab_py("stop")


def lab_inventories(lab):
    return [lab.inventory, os.path.join(REPO, "playbooks", "inventory", "lab")]


def item_lab(args, checkpoint=lambda lab_data: None):
    lab = BenchLab(args.lab_name)
    log("starting lab instance %s (%s)" % (args.lab_name, "reusing it" if args.reuse_lab else "fresh"))
    lab.start(reuse=args.reuse_lab)
    out = {"boot_s": lab.boot_s}
    try:
        def after_round(i, conv):
            out["converge"] = conv
            out["resets_s"] = lab.resets
            out["prepare"] = LAB_PREPARE
            checkpoint(out)
            # the lab is now converged by the collection (the last tool of a round): measure the
            # per-task costs once, after the first round, so a cut-short run still has them
            if i == 0 and "pertask" in args.items:
                out["pertask"] = lab_pertask(lab, args)
                checkpoint(out)
        if "converge" in args.items or "mitogen" in args.items:
            lab_converge(lab, args, after_round)
        elif "pertask" in args.items:
            lab.reset()
            for playbook in (os.path.join(REPO, "playbooks", "sriov_passthrough.yml"),):
                run_playbook(playbook, lab_inventories(lab), ansible_env(), [], "converge for per-task")
            out["pertask"] = lab_pertask(lab, args)
    finally:
        out["resets_s"] = lab.resets
        if not args.keep_lab:
            lab.stop()
    return out


def baseline_playbook():
    """bench/playbooks/baseline_passthrough.yml.in, copied verbatim (with its templates) to the
    scratch directory as a .yml. It is kept as .yml.in in the repository because `make lint`
    runs ansible-lint offline without community.libvirt, whose modules its syntax check could
    not resolve."""
    dest = os.path.join(WORK, "baseline")
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    shutil.copytree(os.path.join(PB, "templates"), os.path.join(dest, "templates"))
    shutil.copy(os.path.join(PB, "baseline_passthrough.yml.in"), os.path.join(dest, "baseline_passthrough.yml"))
    return os.path.join(dest, "baseline_passthrough.yml")


def lab_converge(lab, args, after_round):
    """Per round: collection (default strategy), baseline, collection under Mitogen; each from
    the same fresh state (loadvm), first run then re-run, then the same verify playbook."""
    invs = lab_inventories(lab)
    # the default-strategy tools run at -vvv to count their remote executions ("SSH: EXEC"
    # lines); Mitogen prints no such line (it keeps one connection and one interpreter per host)
    tools = [("collection", os.path.join(REPO, "playbooks", "sriov_passthrough.yml"), ansible_env(), True),
             ("baseline", baseline_playbook(), ansible_env(BASELINE_SITE), True)]
    if "mitogen" in args.items:
        tools.append(("collection_mitogen", os.path.join(REPO, "playbooks", "sriov_passthrough.yml"),
                      ansible_env(mitogen=True), False))
    verify_env = ansible_env()
    rounds = []
    for i in range(args.lab_pairs):
        rnd = {}
        for name, playbook, env, count in tools:
            lab.reset()
            first = run_playbook(playbook, invs, env, [], "%s first #%d" % (name, i + 1), count=count)
            rerun = run_playbook(playbook, invs, env, [], "%s re-run #%d" % (name, i + 1), count=count)
            verify = run_playbook(os.path.join(PB, "verify.yml"), invs, verify_env, [], "verify %s #%d" % (name, i + 1))
            rnd[name] = {"first": _brief(first), "rerun": _brief(rerun), "verified": verify["rc"] == 0,
                         "verify_error": verify.get("error", "")[-1500:]}
        rounds.append(rnd)
        after_round(i, {"rounds": rounds, "tools": [t[0] for t in tools]})


def _brief(r):
    keep = ("wall", "rc", "ok", "changed", "failures", "skipped", "error", "executions")
    out = dict((k, r.get(k)) for k in keep if k in r)
    out["changed_tasks"] = [t["task"] for t in r.get("tasks", []) if t["changed"]]
    return out


NOOP_TASKS = [
    ("sriov_info", {}),
    ("iommu_info", {}),
    ("sriov_vfs", {"pf": "enp1s0", "num_vfs": 4}),
    # link_up as the VF stage wrote the rule (the module's own default is false)
    ("sriov_udev_rule", {"pf": "enp1s0", "num_vfs": 4, "link_up": True}),
    ("kernel_cmdline", {"present": ["intel_iommu=on", "iommu=pt"]}),
    ("libvirt_vf_pool_network", {"name": "passthrough", "pf": "enp1s0"}),
    ("libvirt_hostdev_interface", {"domain": "guestVM", "pci_address": "0000:02:10.2",
                                   "mac": "52:54:00:6d:90:02", "vlan": 42}),
    # spoof checking is on for a new VF (igb): a setting already in place, not persisted
    ("sriov_vf_settings", {"pf": "enp1s0", "vf_defaults": {"spoofchk": True}, "persist": False}),
]


def lab_pertask(lab, args):
    """One playbook on the converged lab: ping, module, ping, module ... (pairs per module)."""
    tasks = []
    for module, params in NOOP_TASKS:
        for i in range(args.pairs):
            tasks.append({"name": "ping %s %d" % (module, i), "ansible.builtin.ping": None})
            task = {"name": "noop %s %d" % (module, i), "virt.sriov." + module: params}
            if module == "kernel_cmdline":
                task["check_mode"] = True  # never touch the boot configuration in a benchmark
            if module == "sriov_vf_settings":
                task["ignore_errors"] = True  # a driver that reports otherwise must not end the playbook
            tasks.append(task)
    play = [{"name": "Per-task cost", "hosts": "hypervisors", "gather_facts": False, "tasks": tasks}]
    path = os.path.join(WORK, "pertask.yml")
    with open(path, "w") as handle:
        json.dump(play, handle)  # JSON is YAML
    r = run_playbook(path, lab_inventories(lab), ansible_env(), [], "per-task playbook")
    out = {"rc": r["rc"], "error": r.get("error", "")[-1500:], "modules": {}}
    by_name = dict((t["task"], t) for t in r.get("tasks", []))
    for module, _params in NOOP_TASKS:
        pairs, changed = [], []
        for i in range(args.pairs):
            a, b = by_name.get("noop %s %d" % (module, i)), by_name.get("ping %s %d" % (module, i))
            if a and b:
                pairs.append((a["end"] - a["start"], b["end"] - b["start"]))
                changed.append(a["status"])
        out["modules"][module] = {"pairs": pairs, "statuses": changed}
    return out


# ------------------------------------------------------------------------------ machine
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    except Exception as exc:  # noqa: BLE001 - description only
        return "?(%s)" % exc


def machine():
    import ansible
    import mitogen
    mem = sh("awk '/MemTotal/{printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    libvirt_coll = "?"
    manifest = os.path.join(BASELINE_SITE, "ansible_collections", "community", "libvirt", "MANIFEST.json")
    if os.path.exists(manifest):
        with open(manifest) as handle:
            libvirt_coll = json.load(handle)["collection_info"]["version"]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": sh("lscpu | sed -n 's/^Model name: *//p'"), "nproc": sh("nproc"), "memory": mem,
        "kernel": platform.release(), "os": sh(". /etc/os-release; echo $PRETTY_NAME"),
        "python": platform.python_version(), "ansible_core": ansible.__version__,
        "mitogen": ".".join(str(x) for x in mitogen.__version__), "community_libvirt": libvirt_coll,
        "qemu": sh("qemu-system-x86_64 --version | head -1"),
        "load_start": sh("cat /proc/loadavg"),
        "other_qemu": sh("pgrep -c qemu-system || true"),
        "git": sh("git -C %s rev-parse --short HEAD" % REPO),
    }


# ------------------------------------------------------------------------------ main
ITEMS = ("discovery", "fleet", "pertask", "converge", "mitogen", "report")


def write(args, data):
    import report
    with open(args.json + ".tmp", "w") as handle:
        json.dump(data, handle, indent=1)
    os.rename(args.json + ".tmp", args.json)
    with open(args.output, "w") as handle:
        handle.write(report.render(data))
    log("wrote %s and %s" % (args.output, args.json))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--pairs", type=int, default=5, help="A/B pairs for in-process and per-task items (default 5)")
    ap.add_argument("--lab-pairs", type=int, default=5, help="rounds of the lab converge (default 5)")
    ap.add_argument("--fleet-pairs", type=int, default=5, help="A/B pairs per fork count of the fleet (default 5)")
    ap.add_argument("--fleet-hosts", type=int, default=100)
    ap.add_argument("--fleet-forks", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--report-hosts", type=int, default=500, help="hosts of the report page item (default 500)")
    ap.add_argument("--items", nargs="*", choices=ITEMS, default=list(ITEMS),
                    help="items to run (none with --merge: only rewrite the report)")
    ap.add_argument("--lab-name", default="bench")
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab instance running")
    ap.add_argument("--reuse-lab", action="store_true",
                    help="use the running instance and its snapshot from an earlier bench/run (taken right after that "
                         "run's fresh boot); without a snapshot, the instance must be freshly booted and untouched")
    ap.add_argument("--output", default=os.path.join(BENCH, "results.md"))
    ap.add_argument("--json", default=os.path.join(BENCH, "results.json"))
    ap.add_argument("--merge", nargs="+", default=[],
                    help="start from these results JSON files (items not run now are kept from them)")
    args = ap.parse_args(argv)
    os.makedirs(WORK, exist_ok=True)
    data = {}
    for path in args.merge:
        with open(path) as handle:
            old = json.load(handle)
        runs = data.get("runs", []) + old.get("runs", [])
        params = dict(data.get("params", {}), **old.get("params", {}))
        for key, value in old.items():
            if key == "lab" and isinstance(data.get("lab"), dict):
                data["lab"].update(value)  # e.g. per-task from one run, converge from a later one
            else:
                data[key] = value
        data["runs"], data["params"] = runs, params
    data.setdefault("runs", [])
    if args.items or not data.get("machine"):  # a report-only merge keeps the measured machine
        # what this run cannot tell (e.g. no baseline venv for an item that does not use it) is
        # kept from the merged data
        old = data.get("machine") or {}
        data["machine"] = dict((k, old.get(k, v) if v == "?" else v) for k, v in machine().items())
    if args.items:  # a report-only merge is not a measurement run
        data["runs"].append({"argv": sys.argv[1:], "date": data["machine"]["date"],
                             "load_start": data["machine"]["load_start"]})
    params = data.setdefault("params", {})
    if "discovery" in args.items:
        data["discovery"] = item_discovery(args)
        params["discovery_pairs"] = args.pairs
    if "report" in args.items:
        import report_page
        log("report page: HTML vs Markdown, %d hosts" % args.report_hosts)
        data["report_page"] = report_page.measure(args.report_hosts, args.pairs)
        params["report_pairs"] = args.pairs
    if "fleet" in args.items:
        data["fleet"] = item_fleet(args)
        params["fleet_pairs"] = args.fleet_pairs
    if set(args.items) & {"pertask", "converge", "mitogen"}:
        params["pertask_pairs"] = args.pairs

        merged_lab = dict(data.get("lab") or {})

        def with_merged(lab_data):
            """A pertask-only run keeps the converge of a merged run (and its boot and resets)."""
            if "converge" in lab_data:
                return lab_data
            return dict(merged_lab, pertask=lab_data.get("pertask"))

        def checkpoint(lab_data):
            data["lab"] = with_merged(lab_data)
            params["lab_pairs"] = len((data["lab"].get("converge") or {}).get("rounds", []))
            write(args, data)
        data["lab"] = with_merged(item_lab(args, checkpoint))
        params["lab_pairs"] = len((data["lab"].get("converge") or {}).get("rounds", []))
    if args.items:
        data["machine"]["load_end"] = sh("cat /proc/loadavg")
    if args.items:
        data["runs"][-1]["load_end"] = data["machine"]["load_end"]
    write(args, data)
    shutil.rmtree(os.path.join(WORK, "cp"), ignore_errors=True)


if __name__ == "__main__":
    main()
