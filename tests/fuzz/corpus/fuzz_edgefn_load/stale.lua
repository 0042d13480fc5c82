function handler(e)
  if kept then local x = kept.arr return #x end
  kept = e.sub
  for k, v in pairs(e) do e[k] = nil end
  return setmetatable(e, {})
end
