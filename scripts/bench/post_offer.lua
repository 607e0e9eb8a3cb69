-- wrk script for the server benchmarks: POSTs the SDP offer in $OFFER_FILE (application/sdp).
-- Run: OFFER_FILE=tests/testdata/offer_vlc_style.sdp wrk -t1 -c64 -d10s --latency \
--        -s scripts/bench/post_offer.lua http://127.0.0.1:PORT/offer
-- With WRK_LIMIT=N each thread stops after N responses (a fixed number of offers, for memory runs)
-- and writes "LIMIT reached" to stderr (send wrk SIGINT then); responses other than 200 are counted
-- and printed at the end as "LIMITED <responses> responses, <n> not 200".
local file = assert(io.open(assert(os.getenv("OFFER_FILE"), "OFFER_FILE not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/sdp"

local limit = tonumber(os.getenv("WRK_LIMIT") or "0") or 0
if limit > 0 then
  local threads = {}
  function setup(thread)
    table.insert(threads, thread)
  end
  -- Globals, so that done() can read them from each thread with thread:get().
  count = 0
  failed = 0
  function response(status, headers, body)
    count = count + 1
    if status ~= 200 then
      failed = failed + 1
    end
    if count == limit then
      -- wrk itself runs for its whole -d duration: the harness sends SIGINT on this line.
      io.stderr:write("LIMIT reached\n")
      io.stderr:flush()
      wrk.thread:stop()
    end
  end
  function done(summary, latency, requests)
    local total, bad = 0, 0
    for _, thread in ipairs(threads) do
      total = total + (thread:get("count") or 0)
      bad = bad + (thread:get("failed") or 0)
    end
    io.write(string.format("LIMITED %d responses, %d not 200\n", total, bad))
  end
end
