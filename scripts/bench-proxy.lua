-- wrk script for ./scripts/bench-proxy: one OpenAI chat completion per request, to the fake upstream
-- directly or through the proxy (TOKENLEDGER_BENCH_KEY set: the app key, and the user in the body).
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local key = os.getenv("TOKENLEDGER_BENCH_KEY")
  wrk.headers["Authorization"] = "Bearer " .. (key ~= "" and key or "sk-direct")
  wrk.body = '{"model":"gpt-4o-mini","max_tokens":50,"user":"bench-proxy",'
    .. '"messages":[{"role":"system","content":"You answer in one word."},'
    .. '{"role":"user","content":"What is the capital of France?"}]}'
end

function response(status, headers, body)
  if status ~= 200 then failed = (failed or 0) + 1 end
end

function done(summary, latency, requests)
  local prefix = os.getenv("TOKENLEDGER_BENCH_PREFIX")
  io.write(string.format("%s_requests %d\n", prefix, summary.requests))
  io.write(string.format("%s_p50 %.3f\n", prefix, latency:percentile(50) / 1000))
  io.write(string.format("%s_p99 %.3f\n", prefix, latency:percentile(99) / 1000))
end
