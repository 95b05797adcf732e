-- wrk script: full world cups. Each thread keeps a queue of world cups waiting for their next
-- pick; a connection with nothing to pick starts a new cup of the given size. Every cup is
-- played to its champion by always picking the left food, each pick with the cup's play key
-- and the round and match it answers.
--   wrk ... -s bench/worldcup-play.lua URL -- BOOK_ID SIZE
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  book = args[1] or "1"
  size = args[2] or "16"
  queue = {}
  finished = 0
  started = 0
  failures = 0
  keys = {}
end

local json = {["Content-Type"] = "application/json"}

function request()
  local cup = table.remove(queue)
  if cup then
    local headers = {["Content-Type"] = "application/json", ["X-Play-Key"] = cup.key}
    return wrk.format("POST", "/api/v1/worldcups/" .. cup.id .. "/picks", headers,
      '{"winner": ' .. cup.left .. ', "round": ' .. cup.round .. ', "match": ' .. cup.match .. '}')
  end
  return wrk.format("POST", "/api/v1/books/" .. book .. "/worldcups", json, '{"size": ' .. size .. '}')
end

function response(status, headers, body)
  if status ~= 200 and status ~= 201 then
    failures = failures + 1
    return
  end
  if status == 201 then
    started = started + 1
    -- The key is shown only in the start's answer; later answers are matched by id.
    local id = string.match(body, '^{"id":"(%x+)"')
    keys[id] = string.match(body, '"play_key":"(%x+)"')
  end
  if string.find(body, '"finished":true', 1, true) then
    finished = finished + 1
    local done = string.match(body, '^{"id":"(%x+)"')
    if done then keys[done] = nil end
    return
  end
  local id = string.match(body, '^{"id":"(%x+)"')
  local left = string.match(body, '"current":{"left":{"id":(%d+)')
  local round = string.match(body, '"round":(%d+)')
  local match = string.match(body, '"match":(%d+)')
  if id and left and keys[id] then
    table.insert(queue, {id = id, left = left, key = keys[id], round = round, match = match})
  end
end

function done(summary, latency, requests)
  local f, s, e = 0, 0, 0
  for _, thread in ipairs(threads) do
    f = f + thread:get("finished")
    s = s + thread:get("started")
    e = e + thread:get("failures")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("cups started: %d, cups finished: %d (%.1f full cups/s), failed responses: %d\n",
    s, f, f / seconds, e))
end
