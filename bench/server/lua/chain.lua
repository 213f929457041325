-- Refresh grants: every request spends one live refresh token, and every 200 answer hands its
-- successor back to the pool, so each token is presented exactly once (a spent one would be
-- reuse and end its session). The pool starts with the tokens in the file args[1] (one per
-- line; at least as many as connections); args[2] is the path; args[3], if not empty, the
-- Authorization header (a confidential client); args[4] the tokens' prefix (default jwtw_rt_,
-- "-" for none: another server's opaque tokens).
-- wrk calls response() for a connection before it asks request() for that connection's next
-- request, so the pool never runs dry while requests succeed.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local pool, head, tail = {}, 1, 0
local path = "/oauth/token"
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local dry = 0
local prefix = "jwtw_rt_"
local pattern = '"refresh_token":"(jwtw_rt_[%w_-]+)"'

function init(args)
  for line in io.lines(args[1]) do
    tail = tail + 1
    pool[tail] = line
  end
  path = args[2] or path
  if args[3] and args[3] ~= "" then headers["Authorization"] = args[3] end
  if args[4] and args[4] ~= "" then
    prefix = args[4] == "-" and "" or args[4]
    pattern = '"refresh_token":"(' .. prefix:gsub("%p", "%%%0") .. '[%w_-]+)"'
  end
end

function request()
  local token
  if head <= tail then
    token = pool[head]
    pool[head] = nil
    head = head + 1
  else
    dry = dry + 1 -- every token of the pool was refused: send one that is refused too
    token = prefix .. string.rep("A", 43)
  end
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, hdrs, body)
  if status == 200 then
    local token = body:match(pattern)
    if token then
      tail = tail + 1
      pool[tail] = token
    end
  end
end
