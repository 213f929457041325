-- Refresh grants: every request spends one live refresh token, and every 200 answer hands its
-- successor back to the pool, so each token is presented exactly once (a spent one would be
-- reuse and end its session). The pool starts with the tokens in the file args[1] (one per
-- line; at least as many as connections); args[2] is the path.
-- wrk calls response() for a connection before it asks request() for that connection's next
-- request, so the pool never runs dry while requests succeed.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local pool, head, tail = {}, 1, 0
local path = "/oauth/token"
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local dry = 0

function init(args)
  for line in io.lines(args[1]) do
    tail = tail + 1
    pool[tail] = line
  end
  path = args[2] or path
end

function request()
  local token
  if head <= tail then
    token = pool[head]
    pool[head] = nil
    head = head + 1
  else
    dry = dry + 1 -- every token of the pool was refused: send one that is refused too
    token = "jwtw_rt_" .. string.rep("A", 43)
  end
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, hdrs, body)
  if status == 200 then
    local token = body:match('"refresh_token":"(jwtw_rt_[%w_-]+)"')
    if token then
      tail = tail + 1
      pool[tail] = token
    end
  end
end
