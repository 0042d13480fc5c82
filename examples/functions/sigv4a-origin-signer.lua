--[[
sigv4a-origin-signer.lua: an origin-request function that signs each origin
request with SigV4A, as the blog's Lambda@Edge function does in Python
(aws-samples/amazon-cloudfront-with-s3-multi-region-access-points,
lambda/lambda_function.py).

What it does, step by step (the Python's steps, in the same order):
  1. Take the request and its origin (whichever of custom or s3 it is).
  2. Failover bypass: when the origin carries the custom header
     originTypeFailover (the secondary member of an origin group), return the
     request unchanged and unsigned.
  3. Build the URL <protocol>://<domainName>[:<port>]<origin path><uri>.
  4. Collect the read-only headers present in the request (an origin-request
     function may not change them, so the origin receives them as they are
     and they must be signed).
  5. Add X-Amz-Cf-Id = the request id: the edge adds that header after the
     function, so it has to be signed now.
  6. Sign with SigV4A, region set "*", service "s3", with the edge's signing
     credentials (the function never sees the key).
  7. Remove X-Amz-Cf-Id again (a function may not set it).
  8. Replace all request headers with the signed set.
  9. Drop the query string: it was not signed.

Differences from the Python, each a fix of a pitfall the reference notes:
the failover header is found whatever its case (event header names are
lowercase); the origin actually found is used, not always origin.custom;
the origin path and a non-default port are part of the signed URL (the
blog's access point has neither); every value of a read-only header is kept.

Configure it as the origin-request function of a behavior whose built-in
signer is off (the edge's `signing:` credentials are what it signs with):

  signing:
    credentials: edge-credentials       # "AKID SECRET" on one line
  behaviors:
    - path_pattern: "*"
      target: mrap-with-failover
      signing: none                     # this function signs instead
      functions:
        origin-request: functions/sigv4a-origin-signer.lua
]]

local READ_ONLY_HEADERS = {
  'accept-encoding', 'content-length', 'if-modified-since', 'if-none-match',
  'if-range', 'if-unmodified-since', 'transfer-encoding', 'via',
}
local FAILOVER_HEADER = 'origintypefailover' -- 'originTypeFailover', as event names are lowercase
local DEFAULT_PORT = { http = 80, https = 443 }

local function is_failover(origin)
  for name in pairs(origin.customHeaders or {}) do
    if name:lower() == FAILOVER_HEADER then return true end
  end
  return false
end

local function origin_url(origin, uri)
  local protocol = origin.protocol or 'https' -- an s3 origin has no protocol: it is https
  local authority = origin.domainName
  if origin.port and origin.port ~= DEFAULT_PORT[protocol] then
    authority = authority .. ':' .. origin.port
  end
  return protocol .. '://' .. authority .. (origin.path or '') .. uri
end

function handler(event, context)
  local cf = event.Records[1].cf
  local request = cf.request
  local _, origin = next(request.origin)

  if is_failover(origin) then
    return request
  end

  local headers = {}
  for _, name in ipairs(READ_ONLY_HEADERS) do
    headers[name] = request.headers[name]
  end
  headers['x-amz-cf-id'] = { { key = 'X-Amz-Cf-Id', value = cf.config.requestId } }

  local signed = meridian.sigv4a.sign {
    method = request.method,
    url = origin_url(origin, request.uri),
    region = '*',
    service = 's3',
    headers = headers,
  }
  for name, value in pairs(signed) do
    headers[name] = value
  end
  headers['x-amz-cf-id'] = nil

  request.headers = headers
  request.querystring = ''
  return request
end
