package dev.strangler.router.internal;

/** What routing looks at in a request; an adapter over the HTTP library's request, and a plain record in tests. */
public interface RequestView {

    /** Upper-case method. */
    String method();

    /** Path without query. */
    String path();

    /** Host header without port, lower-case; empty when absent. */
    String host();

    /** First value of a header, or null. */
    String header(String name);

    /** Value of a cookie, or null. */
    String cookie(String name);

    /** The client's IP address as text. */
    String clientAddress();
}
