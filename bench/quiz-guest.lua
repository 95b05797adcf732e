-- wrk script of bench/quiz.sh: friends arriving by a quiz link as guests. Each request either
-- creates a guest (`POST /api/v1/auth/guest`, from a random client address passed as
-- X-Forwarded-For, the server trusting the loopback proxy) or submits the first attempt of a
-- guest created earlier by this thread (`PUT /api/v1/exams/CODE/attempt`), so every guest
-- submits once; the counts of both are printed at the end.
--
-- wrk ... -s bench/quiz-guest.lua URL -- PAIRS_FILE CODE
-- PAIRS_FILE: "pair_id left_id right_id" a line.

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("seed", #threads)
end

local questions, path, ready = {}, nil, {}
created, submitted, failed = 0, 0, 0
-- "STATUS:what " for each failed answer, so that a failure says what it was.
failures = ""

function init(args)
  for line in io.lines(args[1]) do
    local p, l, r = line:match("(%d+) (%d+) (%d+)")
    if p then questions[#questions + 1] = { p, l, r } end
  end
  path = "/api/v1/exams/" .. args[2] .. "/attempt"
  math.randomseed(os.time() * 100 + seed)
end

function request()
  local token = table.remove(ready)
  if token then
    local answers = {}
    for i, q in ipairs(questions) do
      local food = (math.random(2) == 1) and q[2] or q[3]
      answers[i] = '{"pair_id":' .. q[1] .. ',"food_id":' .. food .. '}'
    end
    return wrk.format("PUT", path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, '{"answers":[' .. table.concat(answers, ",") .. ']}')
  end
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", "/api/v1/auth/guest", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, '{"display_name":"친구 ' .. math.random(1, 9999) .. '"}')
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    local token = body:match('"token":"(%x+)"')
    if token then ready[#ready + 1] = token end
  elseif status == 200 then
    submitted = submitted + 1
  else
    failed = failed + 1
    local code = body:match('"code":"([%w_]+)"') or ""
    failures = failures .. status .. ":" .. code .. " "
  end
end

function done(summary, latency, requests)
  local c, s, f, kinds = 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    s = s + thread:get("submitted")
    f = f + thread:get("failed")
    for kind in thread:get("failures"):gmatch("%S+") do kinds[kind] = (kinds[kind] or 0) + 1 end
  end
  local listed = {}
  for kind, n in pairs(kinds) do listed[#listed + 1] = n .. " × " .. kind end
  table.sort(listed)
  io.write(string.format("guests created: %d, guest attempts: %d, failed: %d\n", c, s, f))
  if #listed > 0 then io.write("failed answers (status:code): " .. table.concat(listed, ", ") .. "\n") end
end
