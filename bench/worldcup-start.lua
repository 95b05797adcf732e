-- wrk script: world-cup starts. POST /api/v1/books/BOOK_ID/worldcups {"size": SIZE}
--   wrk ... -s bench/worldcup-start.lua URL -- BOOK_ID SIZE
function init(args)
  local book = args[1] or "1"
  local size = args[2] or "16"
  wrk.method = "POST"
  wrk.path = "/api/v1/books/" .. book .. "/worldcups"
  wrk.body = '{"size": ' .. size .. '}'
  wrk.headers["Content-Type"] = "application/json"
end
