-- wrk script of benchmarks/query.py: a realistic mix of dashboard requests for MRR and revenue by
-- region over the benchmark warehouse (2024-2025, 5 regions, 25 plans).
--
--   wrk -t1 -c50 -d20s -s benchmarks/query_mix.lua http://127.0.0.1:PORT -- KEY MODE
--
-- KEY is the API key; MODE is `mix` (as clients send them: repeated URLs, so the per-refresh
-- response cache answers most), `unique` (the same mix, every request sent with the documented
-- `Cache-Control: no-cache` header, so every request is computed from the read models; the API
-- refuses unknown query parameters, so a cache-busting nonce in the query string is no option),
-- `cycle` (every URL in turn: the warm-up) or `health` (GET /health, the baseline). The URL set is every combination of the filters a dashboard
-- user picks (date range x granularity x region x plan x currency) for both endpoints, sent with
-- the dashboard's page_size=500; which URL comes next is drawn with Zipf-like weights (the default
-- view far more often than a narrow one) from a fixed seed, so every run sends the same sequence.
-- Counts responses answered from the cache (`x-cache: hit`, or `stale`: the previous refresh's
-- answer while refresh-ahead recomputes it) and prints one line `WRKJSON {...}`.

local ranges = {
  -- start, end, granularities a dashboard offers for that range
  { "", "", { "month" } },                                  -- the default: 12 months to the horizon
  { "2024-01-01", "2025-12-31", { "month", "quarter" } },   -- everything
  { "2025-01-01", "2025-12-31", { "month", "quarter", "week" } },
  { "2024-01-01", "2024-12-31", { "month", "quarter" } },
  { "2025-07-01", "2025-12-31", { "month", "week" } },
  { "2025-10-01", "2025-12-31", { "week", "day", "month" } },
  { "2025-12-01", "2025-12-31", { "day" } },
}
local regions = { "", "na", "emea", "uki", "apac", "latam" }
local plans = { "", "growth-monthly-usd", "starter-monthly-eur", "enterprise-annual-gbp", "growth-annual-usd" }

local urls = {}
local weights = {}

local function add(path, weight)
  urls[#urls + 1] = path
  weights[#weights + 1] = weight
end

local function query(params)
  local parts = {}
  for _, pair in ipairs(params) do
    if pair[2] ~= "" then parts[#parts + 1] = pair[1] .. "=" .. pair[2] end
  end
  return table.concat(parts, "&")
end

for r, range in ipairs(ranges) do
  for g, granularity in ipairs(range[3]) do
    for i, region in ipairs(regions) do
      for j, plan in ipairs(plans) do
        -- Zipf-like: the first range, granularity, "all regions" and "all plans" are the popular
        -- choices; every extra narrowing divides the weight.
        local weight = 1 / (r * g * i * j)
        local common = { { "start", range[1] }, { "end", range[2] }, { "region_id", region }, { "plan_id", plan },
                         { "granularity", granularity } }
        -- Only the parameters each endpoint declares: the API answers 422 to any other one.
        local mrr = "/v1/mrr?" .. query(common)
        common[#common + 1] = { "group_by", "region" }
        local revenue = "/v1/revenue?" .. query(common)
        add(mrr .. "&page=1&page_size=500", weight)
        add(revenue .. "&page=1&page_size=500", weight)
        if plan == "" and (region == "" or region == "emea") then  -- some users look at billed currencies
          add(mrr .. "&currency=original&page=1&page_size=500", weight / 4)
          add(revenue .. "&currency=original&page=1&page_size=500", weight / 4)
        end
      end
    end
  end
end

local cumulative = {}
local total = 0
for k, weight in ipairs(weights) do
  total = total + weight
  cumulative[k] = total
end

local function pick()
  local x = math.random() * total
  local low, high = 1, #cumulative
  while low < high do
    local mid = math.floor((low + high) / 2)
    if cumulative[mid] < x then low = mid + 1 else high = mid end
  end
  return urls[low]
end

local key, mode = "", "mix"
local counter = 0
hits, stale = 0, 0  -- globals: the main state reads them from each thread in done()
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  key, mode = args[1] or "", args[2] or "mix"
  math.randomseed(20261128)
  wrk.headers["X-API-Key"] = key
  if mode == "unique" then wrk.headers["Cache-Control"] = "no-cache" end
end

function request()
  counter = counter + 1
  if mode == "health" then return wrk.format("GET", "/health") end
  if mode == "cycle" then return wrk.format("GET", urls[(counter % #urls) + 1]) end
  return wrk.format("GET", pick())
end

function response(status, headers, body)
  local cache = headers["x-cache"]
  if cache == "hit" then hits = hits + 1 elseif cache == "stale" then stale = stale + 1 end
end

function done(summary, latency, requests)
  local cached, previous = 0, 0
  for _, thread in ipairs(threads) do
    cached = cached + (thread:get("hits") or 0)
    previous = previous + (thread:get("stale") or 0)
  end
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "errors": %d, "non_2xx": %d, "cache_hits": %d, "cache_stale": %d, ' ..
    '"distinct_urls": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, cached, previous, #urls))
end
