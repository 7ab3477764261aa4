# A/B of record.lua's Redis time per call across commits: one private redis-server, the versions'
# common.lua + record.lua loaded side by side and run in turn (A B C A B C ...), each round on fresh
# keys, the figure being INFO commandstats' usec_per_call of EVALSHA (Redis's own clock, so no client
# or network time). Ratios within one run are what to quote: this machine's speed drifts 2x.
#   python3 scripts/record_script_ab.py COMMIT:LAYOUT[,COMMIT:LAYOUT...] ROUNDS EVENTS USERS
# LAYOUT is the record.lua argument layout of that commit: old (before cost, calls:D), money (ARGV
# 14-15 cost), usd (16 the default currency limit), fp (fingerprint buckets, 16 fingerprint 17 force),
# head (16 default currency limit, 17 fingerprint, 18 force). Needs the redis Python package.
import hashlib, os, socket, subprocess, sys, tempfile, time, uuid, redis
versions = sys.argv[1].split(",")
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds, events, users = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
work = tempfile.mkdtemp()
p = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
r = redis.Redis(port=port)
for _ in range(100):
    try: r.ping(); break
    except Exception: time.sleep(0.05)
def src(commit, name): return subprocess.check_output(["git", "-C", repo, "show", f"{commit}:Sources/TokenLedger/Scripts/{name}"]).decode()
shas = {}
for v in versions:
    c, _ = v.split(":")
    shas[v] = r.script_load(src(c, "common.lua") + "\n" + src(c, "record.lua"))
cycle = "2020-01-01"
def call(pipe, v, ns, user, cid, i):
    layout = v.split(":")[1]
    u = f"m{user}"; base = f"{ns}:{{{u}}}:"
    args = ["*", cid, i % 997 + 1, i % 211, -1, -1, -1, "gpt-4o", -1, "80,100", u, cycle, "0"]
    calls = base + "calls:" + cycle
    d = hashlib.sha256(cid.encode()).digest()
    if layout != "old": args += [1234 + i % 50, -1]
    if layout in ("usd", "head"): args += [-1]
    if layout in ("fp", "head"):
        calls += ":%02x" % (d[0] % 32); args += [d[1:13], "0"]
    pipe.evalsha(shas[v], 5, base + "profile", base + "cycle:" + cycle, calls, base + "events", base + "late:" + cycle, *args)
res = {v: [] for v in versions}
for rnd in range(rounds):
    for k, v in enumerate(versions):
        ns = f"n{rnd}x{k}"
        r.config_resetstat()
        pipe = r.pipeline(transaction=False)
        for i in range(events):
            call(pipe, v, ns, i % users, str(uuid.uuid4()), i)
            if len(pipe) >= 1000: out = pipe.execute(raise_on_error=True); pipe = r.pipeline(transaction=False)
        out = pipe.execute()
        st = r.info("commandstats")["cmdstat_evalsha"]
        res[v].append(st["usec_per_call"])
        assert st.get("failed_calls", 0) == 0 and st.get("rejected_calls", 0) == 0, st
for v in versions:
    xs = sorted(res[v]); print(f"{v:22s} usec_per_call median {xs[len(xs)//2]:.2f}  all {' '.join('%.1f' % x for x in res[v])}")
p.terminate(); p.wait()
