local t = setmetatable({}, {__gc = function() while true do end end})
function handler(e) local s = "x" for i = 1, 40 do s = s .. s end return s end
