-- PATCH /v1/tokens over a pool of refresh-token chains. Each wrk thread takes its share of the
-- pool and continues every chain with the refresh token that the last response returned, so no
-- token is ever sent twice. Arguments: the pool file, the number of threads.
local next_id = 0
local queue = {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads, index = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if index % threads == id then
      table.insert(queue, line)
    end
    index = index + 1
  end
end

function request()
  local token = table.remove(queue, 1) or "gpr_pool_exhausted"
  return wrk.format("PATCH", "/v1/tokens", {["Content-Type"] = "application/json"},
                    '{"refreshToken": "' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refreshToken":%s*"([^"]+)"')
  if token then
    table.insert(queue, token)
  end
end
