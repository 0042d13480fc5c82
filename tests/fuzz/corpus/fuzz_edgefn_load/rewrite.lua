function handler(event, context)
  local r = event
  r.uri = r.uri .. "?" .. meridian.sha256_hex(r.uri)
  meridian.log(meridian.json_encode(r))
  return r
end
