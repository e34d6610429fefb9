-- wrk script of `make loadtest` (reliability/loadtest.py writes the plan it reads).
--
-- Each request is one probe of the mix, sent with its own token and an X-Request-ID
-- that the API echoes, so each answer is tied to the probe that asked: it is `ok` only
-- when it is that probe's status and byte for byte its body (a stats report's
-- `generated_at` aside). A 503 counts as documented only with a numeric Retry-After
-- and one of docs/errors.md's two bodies. Answers are also counted per 100 ms, for
-- the recovery time after a fault. `done` prints `LOAD ...` lines for the harness.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } load_timespec;
int clock_gettime(int clock_id, load_timespec *tp);
]])
local clock = ffi.new("load_timespec")

local function tick()
  ffi.C.clock_gettime(0, clock) -- CLOCK_REALTIME, as Python's time.time()
  return tonumber(clock.tv_sec) * 10 + math.floor(tonumber(clock.tv_nsec) / 1e8)
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads) -- a global of that thread's own Lua state
end

local plan, requests, by_request_id
local position = 0
verdicts = {}
good_ticks = {}
bad_ticks = {}
samples = {}

function init(args)
  plan = dofile(os.getenv("LOAD_PLAN"))
  requests, by_request_id = {}, {}
  for index, probe in ipairs(plan.probes) do
    requests[index] = wrk.format("GET", probe.path, {
      ["Authorization"] = "Bearer " .. probe.token,
      ["Accept"] = "application/json",
      ["X-Request-ID"] = probe.request_id,
    })
    by_request_id[probe.request_id] = probe
  end
  -- Threads start at different places in the mix.
  position = math.floor((thread_number - 1) * #plan.order / 7)
end

function request()
  position = position + 1
  return requests[plan.order[(position - 1) % #plan.order + 1]]
end

local function header(headers, name)
  return headers[name] or headers[string.lower(name)]
end

local function judge(status, headers, body)
  local probe = by_request_id[header(headers, "X-Request-ID") or ""]
  if probe == nil then
    return "unknown-" .. status, nil
  end
  local seen = body
  if probe.volatile then
    seen = string.gsub(body, plan.volatile, plan.masked)
  end
  if status == probe.status and seen == probe.body then
    return "ok", probe
  end
  if status == 503 then
    local retry_after = header(headers, "Retry-After") or ""
    local trimmed = string.match(body, "^%s*(.-)%s*$")
    if string.match(retry_after, "^%d+$") and plan.unavailable[trimmed] then
      return "503", probe
    end
    return "503-undocumented", probe
  end
  if status == probe.status then
    return "wrong-body", probe
  end
  return "status-" .. status, probe
end

function response(status, headers, body)
  local verdict, probe = judge(status, headers, body)
  local now = tick()
  if verdict == "ok" then
    good_ticks[now] = (good_ticks[now] or 0) + 1
  else
    bad_ticks[now] = (bad_ticks[now] or 0) + 1
  end
  if verdict ~= "ok" and verdict ~= "503" then
    local name = verdict .. "@" .. (probe and probe.key or "?")
    if samples[name] == nil then
      samples[name] = string.gsub(string.sub(body, 1, 300), "%s", " ")
    end
  end
  verdicts[verdict] = (verdicts[verdict] or 0) + 1
end

local function add_into(total, part)
  for key, value in pairs(part) do
    total[key] = (total[key] or 0) + value
  end
end

function done(summary, latency, requests_done)
  local all_verdicts, good, bad, all_samples = {}, {}, {}, {}
  for _, thread in ipairs(threads) do
    add_into(all_verdicts, thread:get("verdicts"))
    add_into(good, thread:get("good_ticks"))
    add_into(bad, thread:get("bad_ticks"))
    for name, text in pairs(thread:get("samples")) do
      all_samples[name] = text
    end
  end
  for verdict, count in pairs(all_verdicts) do
    io.write(string.format("LOAD verdict %s %d\n", verdict, count))
  end
  local ticks = {}
  for at in pairs(good) do ticks[at] = true end
  for at in pairs(bad) do ticks[at] = true end
  for at in pairs(ticks) do
    io.write(string.format("LOAD tick %d %d %d\n", at, good[at] or 0, bad[at] or 0))
  end
  for name, text in pairs(all_samples) do
    io.write(string.format("LOAD sample %s %s\n", name, text))
  end
  for _, p in ipairs({ 50, 90, 99 }) do
    io.write(string.format("LOAD latency p%d %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("LOAD latency max %d\n", latency.max))
  io.write(string.format("LOAD latency mean %d\n", latency.mean))
  io.write(string.format("LOAD summary requests %d\n", summary.requests))
  io.write(string.format("LOAD summary duration_us %d\n", summary.duration))
  io.write(string.format("LOAD summary bytes %d\n", summary.bytes))
  for _, kind in ipairs({ "connect", "read", "write", "status", "timeout" }) do
    io.write(string.format("LOAD error %s %d\n", kind, summary.errors[kind]))
  end
end
