-- wrk script: revalidating requests (If-None-Match: the ETag given as the first argument).
function init(args)
  wrk.headers["If-None-Match"] = args[1]
end
