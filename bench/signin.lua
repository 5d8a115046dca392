-- Wrong passwords for random usernames: POST /accounts/login/ with the CSRF token given as the
-- first argument (the same value in the cookie and the form, as Django accepts).
local body_prefix, headers
local counter = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. args[1],
  }
  body_prefix = "csrfmiddlewaretoken=" .. args[1] .. "&password=wrong-password&username="
end

function request()
  counter = counter + 1
  local username = string.format("nobody-%08x-%d", math.random(0, 0x7fffffff), counter)
  return wrk.format("POST", "/accounts/login/", headers, body_prefix .. username)
end
