-- A POST whose path, content type and body file come as arguments; -H headers are kept.
local path, body, headers

function init(args)
  local file = io.open(args[3], "r")
  body = file:read("*a")
  file:close()
  path = args[1]
  headers = {["Content-Type"] = args[2]}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
end

function request()
  return wrk.format("POST", path, headers, body)
end
