# Quick Redis-side check of record.lua's memory per call: old layout (dir with old lua) or new (buckets).
import hashlib, os, socket, subprocess, sys, tempfile, time, uuid, redis
scripts, layout, buckets, events, users = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
work = tempfile.mkdtemp()
p = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
r = redis.Redis(port=port)
for _ in range(100):
    try: r.ping(); break
    except Exception: time.sleep(0.05)
src = open(os.path.join(scripts, "common.lua")).read() + "\n" + open(os.path.join(scripts, "record.lua")).read()
sha = r.script_load(src)
cycle = "2020-01-01"
def call(pipe, user, cid, i):
    u = f"m{user}"
    base = f"ns:{{{u}}}:"
    args = ["*", cid, i % 997 + 1, i % 211, -1, -1, -1, "", -1, "80,100", u, cycle, "0", -1, -1]
    if layout == "old":
        calls = base + "calls:" + cycle
    else:
        d = hashlib.sha256(cid.encode()).digest()
        calls = base + "calls:" + cycle + ":%02x" % (d[0] % buckets)
        args.append(d[1:13])
    pipe.evalsha(sha, 5, base + "profile", base + "cycle:" + cycle, calls, base + "events", base + "late:" + cycle, *args)
# warm
pipe = r.pipeline(transaction=False); call(pipe, 999999, str(uuid.uuid4()), 0); pipe.execute()
before = r.info("memory")["used_memory"]; cpu0 = r.info("cpu"); t0 = time.time()
pipe = r.pipeline(transaction=False)
for i in range(events):
    call(pipe, i % users, str(uuid.uuid4()), i)
    if len(pipe) >= 2000: pipe.execute(); pipe = r.pipeline(transaction=False)
pipe.execute()
after = r.info("memory")["used_memory"]; cpu1 = r.info("cpu")
cpu = (cpu1["used_cpu_user"] + cpu1["used_cpu_sys"]) - (cpu0["used_cpu_user"] + cpu0["used_cpu_sys"])
enc = {}
for k in r.scan_iter(match="ns:*calls*", count=1000):
    e = r.object("encoding", k); enc[e] = enc.get(e, 0) + 1
print(f"{layout} buckets={buckets}: memory_per_call_bytes {(after-before)/events:.1f}  redis_cpu_per_call_us {cpu/events*1e6:.2f}  encodings {enc}")
p.terminate(); p.wait()
