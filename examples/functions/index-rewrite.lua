--[[
index-rewrite.lua: a viewer-request function for static sites whose origin
(an S3 bucket) has no directory index.

  /docs/        -> /docs/index.html   (a uri ending in "/")
  /docs         -> /docs/index.html   (the last segment has no ".")
  /docs/a.css   -> unchanged

It runs before the cache lookup, so the rewritten uri is both the cache key
and what the origin is asked for; the viewer still sees its own URL. The
query string is left as it is.

Configure it on the behavior that serves the site:

  behaviors:
    - path_pattern: "*"
      target: site
      functions:
        viewer-request: functions/index-rewrite.lua
]]

local INDEX = 'index.html'

function handler(event, context)
  local request = event.Records[1].cf.request
  local uri = request.uri
  if uri:sub(-1) == '/' then
    request.uri = uri .. INDEX
  elseif not uri:match('[^/]*$'):find('.', 1, true) then
    request.uri = uri .. '/' .. INDEX
  end
  return request
end
