-- One request per line of the file args[4], in turn: args[1] method, args[2] path, args[3] kind
-- ("body": the line is the body, content type args[5], optional Authorization args[6];
-- "bearer": the line is a bearer token). Without a file: a fixed request (GET path).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local lines, count, i = {}, 0, 0
local method, path, kind = "GET", "/", "none"
local headers = {}

function init(args)
  method, path, kind = args[1] or "GET", args[2] or "/", args[3] or "none"
  if args[4] and args[4] ~= "" then
    for line in io.lines(args[4]) do
      count = count + 1
      lines[count] = line
    end
  end
  if args[5] and args[5] ~= "" then headers["Content-Type"] = args[5] end
  if args[6] and args[6] ~= "" then headers["Authorization"] = args[6] end
  if count == 0 then
    -- A static request: wrk formats it once.
    wrk.method, wrk.path, wrk.headers = method, path, headers
    request = nil
  end
end

function request()
  i = i % count + 1
  if kind == "bearer" then
    headers["Authorization"] = "Bearer " .. lines[i]
    return wrk.format(method, path, headers, nil)
  end
  return wrk.format(method, path, headers, lines[i])
end
