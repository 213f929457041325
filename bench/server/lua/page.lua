-- A fixed GET: args[1] the path, args[2] the Host header, args[3] an optional Cookie header.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

function init(args)
  wrk.method = "GET"
  wrk.path = args[1] or "/"
  wrk.headers = { ["Host"] = args[2] or "localhost" }
  if args[3] and args[3] ~= "" then wrk.headers["Cookie"] = args[3] end
end
