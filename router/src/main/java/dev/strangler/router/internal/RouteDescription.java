package dev.strangler.router.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strangler.router.RouteState;
import dev.strangler.router.Side;

/** A route as the admin API and the dashboard show it: state in force, per-side window figures, gates, shadow counts. */
public final class RouteDescription {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RouteDescription() {
    }

    public static ObjectNode of(LiveRoute r, long now) {
        RouteState s = r.state();
        ObjectNode o = JSON.createObjectNode();
        o.put("name", r.name());
        o.put("weight", s.weight().toString());
        o.put("weightBasisPoints", s.weight().basisPoints());
        o.put("enabled", s.enabled());
        o.put("revision", s.revision());
        o.put("updatedAt", s.updatedAt().toString());
        o.put("updatedBy", s.updatedBy());
        o.put("reason", s.reason());
        s.ramp().ifPresent(ramp -> o.putObject("ramp").put("state", ramp.state().name()).put("target", ramp.target().toString())
                .put("step", ramp.step().toString()).put("every", ramp.every().toString()).put("nextStepAt", ramp.nextStepAt().toString())
                .put("reason", ramp.reason()));
        ObjectNode sides = o.putObject("sides");
        for (Side side : Side.values()) {
            LiveRoute.SideMeters m = r.side(side);
            SideWindow.Totals t = m.totals(now);
            ObjectNode n = sides.putObject(side.label());
            n.put("requests", m.count());
            n.put("windowRequests", t.requests());
            n.put("windowErrors", t.errors());
            n.put("windowErrorRate", t.errorRate());
            m.p99(now).ifPresent(p -> n.put("p99Ms", p.toNanos() / 1e6));
        }
        GateReport gates = r.lastGates();
        ObjectNode g = o.putObject("gates");
        g.put("checkedAt", gates.at().toString());
        g.put("passed", gates.passed());
        ArrayNode list = g.putArray("gates");
        gates.gates().forEach(x -> list.addObject().put("name", x.name()).put("passed", x.passed()).put("detail", x.detail()));
        o.set("shadow", JSON.valueToTree(r.shadowCounts()));
        return o;
    }

}
