string.upper = nil
function handler(e) return pcall(error, {}) end
