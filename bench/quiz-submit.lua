-- wrk script of bench/quiz.sh: `PUT /api/v1/exams/CODE/attempt` by many members who have not
-- taken the exam yet (the first attempt is final), each a random set of answers to every question.
--
-- wrk ... -s bench/quiz-submit.lua URL -- TOKENS_FILE PAIRS_FILE CODE THREADS
-- TOKENS_FILE: one bearer token a line. PAIRS_FILE: "pair_id left_id right_id" a line.
-- Thread k of THREADS takes tokens k, k+THREADS, k+2*THREADS… so that no two requests in
-- flight are by the same participant, and each token is used once while there are enough
-- (a second use would be 409; bench/quiz.sh seeds more submitters than a run can use).

local next_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_index", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

local tokens, questions, path, step, counter = {}, {}, nil, 1, 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  for line in io.lines(args[2]) do
    local p, l, r = line:match("(%d+) (%d+) (%d+)")
    if p then questions[#questions + 1] = { p, l, r } end
  end
  path = "/api/v1/exams/" .. args[3] .. "/attempt"
  step = tonumber(args[4])
  counter = thread_index
  math.randomseed(os.time() + thread_index)
end

function request()
  local token = tokens[(counter % #tokens) + 1]
  counter = counter + step
  local answers = {}
  for i, q in ipairs(questions) do
    local food = (math.random(2) == 1) and q[2] or q[3]
    answers[i] = '{"pair_id":' .. q[1] .. ',"food_id":' .. food .. '}'
  end
  local body = '{"answers":[' .. table.concat(answers, ",") .. ']}'
  return wrk.format("PUT", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

-- Failed answers by status and problem detail, printed at the end (wrk only counts them).
failures = {}

function response(status, headers, body)
  if status ~= 200 then
    local key = status .. " " .. (body:match('"detail":"([^"]*)"') or "")
    failures[key] = (failures[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local f = thread:get("failures")
    for key, n in pairs(f) do
      io.write(string.format("failed: %d x %s\n", n, key))
    end
  end
end
