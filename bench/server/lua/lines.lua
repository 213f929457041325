-- One request per line of a file, for the scenarios whose requests differ (single-use codes,
-- per-browser forms) or whose answers must all be the one expected status. Arguments are
-- key=value pairs:
--   method=GET|POST   path=/p        the request (path: for the "body" and "form" kinds)
--   lines=FILE        one line per request, in turn
--   kind=path         the line is the path (and query)
--   kind=body         the line is the body
--   kind=form         the line is "<Cookie header>\t<body>" (a browser's form post)
--   type=...  auth=...  origin=...  cookie=...   Content-Type, Authorization, Origin, Cookie
--   expect=303        any other status below 400 is counted as unexpected (wrk itself counts
--                     every status from 400 up as an error)
--   once=1            each line is meant to be sent once; past the end the lines are sent
--                     again (a single-use line is then refused: an error), each such request
--                     counted as "dry"
--   save=FILE         mint mode: the code and state of each redirect's Location, one
--                     "state code" line each (the last line is sent again while the answers
--                     come in); the thread stops once every line is answered
-- The summary (lua/report.lua) adds the unexpected and dry counts of every thread.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local lines, count, i = {}, 0, 0
local method, path, kind = "GET", "/", "path"
local headers = {}
local expect, once, save = nil, false, nil
local answered, seen, wrapped = 0, {}, false
unexpected, dry = 0, 0

threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local opts = {}
  for _, arg in ipairs(args) do
    local k, v = arg:match("^([%w_]+)=(.*)$")
    if k then opts[k] = v end
  end
  method, path, kind = opts.method or "GET", opts.path or "/", opts.kind or "path"
  for line in io.lines(opts.lines) do
    count = count + 1
    lines[count] = line
  end
  if opts.type then headers["Content-Type"] = opts.type end
  if opts.auth then headers["Authorization"] = opts.auth end
  if opts.origin then headers["Origin"] = opts.origin end
  if opts.cookie then headers["Cookie"] = opts.cookie end
  expect = tonumber(opts.expect)
  once = opts.once == "1"
  if opts.save then
    save = io.open(opts.save, "w")
    save:setvbuf("line")
  end
end

function request()
  i = i + 1
  if i > count then
    if save then
      i = count -- every line sent: the last one again until the answers are in
    else
      i, wrapped = 1, true
    end
  end
  if once and wrapped then dry = dry + 1 end
  local line = lines[i]
  if kind == "path" then
    return wrk.format(method, line, headers, nil)
  elseif kind == "form" then
    local cookie, body = line:match("^([^\t]*)\t(.*)$")
    headers["Cookie"] = cookie
    return wrk.format(method, path, headers, body)
  end
  return wrk.format(method, path, headers, line)
end

function response(status, hdrs, body)
  if save then
    local location = hdrs["location"] or hdrs["Location"] or ""
    local code = location:match("[?&]code=([^&]+)")
    local state = location:match("[?&]state=([^&]+)")
    if code and state then
      if not seen[state] then
        seen[state] = true
        answered = answered + 1
        save:write(state, " ", code, "\n")
      end
    else
      answered = answered + 1 -- refused: an error (wrk's count, or unexpected below)
    end
    if answered >= count - 1 then -- wrk's up-front check took line 1 without sending it
      save:flush()
      wrk.thread:stop()
    end
  end
  if expect and status ~= expect and status < 400 then unexpected = unexpected + 1 end
end
