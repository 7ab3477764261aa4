-- wrk script for ./scripts/bench: POST /v1/usage with a unique call id per request, over a fixed
-- set of users, authenticated with the app key in TOKENLEDGER_BENCH_KEY. Each wrk thread has its
-- own Lua state; setup() numbers them so that call ids never repeat across threads.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = 0
  users = tonumber(os.getenv("TOKENLEDGER_BENCH_USERS") or "1000")
  run = os.getenv("TOKENLEDGER_BENCH_RUN") or "r"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKENLEDGER_BENCH_KEY")
end

function request()
  requests = requests + 1
  local body = string.format(
    '{"user":"bench-%d","call_id":"%s-%d-%d","input_tokens":%d,"output_tokens":%d,"model":"gpt-4o"}',
    requests % users, run, thread_id, requests, 100 + requests % 50, 20 + requests % 7)
  return wrk.format(nil, "/v1/usage", nil, body)
end

-- Counts non-2xx answers: the bench fails when any request was not recorded.
function response(status, headers, body)
  if status ~= 200 then
    failed = (failed or 0) + 1
  end
end

function done(summary, latency, requests)
  local failures = 0
  for _, thread in ipairs(threads) do
    failures = failures + (thread:get("failed") or 0)
  end
  io.write(string.format("http_requests %d requests\n", summary.requests))
  io.write(string.format("http_non_2xx %d requests\n", failures))
  io.write(string.format("http_record_throughput %.0f requests/s\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("http_record_p50 %.3f ms\n", latency:percentile(50) / 1000))
  io.write(string.format("http_record_p99 %.3f ms\n", latency:percentile(99) / 1000))
end
