--[[
security-headers.lua: a viewer-response function that adds the usual
security headers to every answer the viewer gets, from the cache or not:

  Strict-Transport-Security: max-age=63072000; includeSubDomains
  X-Content-Type-Options: nosniff
  X-Frame-Options: DENY
  Referrer-Policy: strict-origin-when-cross-origin
  Content-Security-Policy: default-src 'self'

A header the origin already sent is replaced. The edge does not run
viewer-response functions for answers with a status of 400 or more, nor for
its own errors, so those go out without these headers (as on CloudFront).
Edit SECURITY_HEADERS to change the values.

Configure it on a behavior:

  behaviors:
    - path_pattern: "*"
      target: site
      functions:
        viewer-response: functions/security-headers.lua
]]

local SECURITY_HEADERS = {
  { 'Strict-Transport-Security', 'max-age=63072000; includeSubDomains' },
  { 'X-Content-Type-Options', 'nosniff' },
  { 'X-Frame-Options', 'DENY' },
  { 'Referrer-Policy', 'strict-origin-when-cross-origin' },
  { 'Content-Security-Policy', "default-src 'self'" },
}

function handler(event, context)
  local response = event.Records[1].cf.response
  for _, h in ipairs(SECURITY_HEADERS) do
    local key, value = h[1], h[2]
    response.headers[key:lower()] = { { key = key, value = value } }
  end
  return response
end
