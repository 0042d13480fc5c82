--[[
cache-control.lua: an origin-response function that decides caching for an
origin which does not:

  200 without Cache-Control  -> Cache-Control: public, max-age=MAX_AGE
  5xx                        -> Cache-Control: no-store (never cache an error)
  anything else              -> unchanged

It runs after the origin's head arrives and before the edge caches the
answer, so the header it sets is both what the edge's freshness rules see
(the next request within MAX_AGE is a Hit) and what the viewer receives.
Change MAX_AGE below to taste (seconds).

Configure it on a behavior (the function runs on misses only):

  behaviors:
    - path_pattern: "*"
      target: site
      functions:
        origin-response: functions/cache-control.lua
]]

local MAX_AGE = 3600

local function set(headers, name, key, value)
  headers[name] = { { key = key, value = value } }
end

function handler(event, context)
  local response = event.Records[1].cf.response
  local status = tonumber(response.status)
  if status == 200 and not response.headers['cache-control'] then
    set(response.headers, 'cache-control', 'Cache-Control', 'public, max-age=' .. MAX_AGE)
  elseif status >= 500 then
    set(response.headers, 'cache-control', 'Cache-Control', 'no-store')
  end
  return response
end
