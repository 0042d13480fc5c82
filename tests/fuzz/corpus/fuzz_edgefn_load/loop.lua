function handler() while true do end end
