package dev.strangler.router;

/** The two upstreams of a route. */
public enum Side {
    MONOLITH("monolith"), SERVICE("service");

    private final String label;

    Side(String label) {
        this.label = label;
    }

    /** Lower-case, as in metrics labels and response headers. */
    public String label() {
        return label;
    }
}
