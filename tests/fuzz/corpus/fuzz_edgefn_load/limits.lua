function handler(e) local ok, v = pcall(string.rep, "ab", 1e9) return select("#", table.unpack({}, 1, 1e6)) end
