package dev.strangler.router.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;

import java.util.Locale;

/** {@link RequestView} over a request as Netty decoded it. */
final class NettyRequestView implements RequestView {

    private final HttpRequest request;
    private final String clientAddress;

    NettyRequestView(HttpRequest request, String clientAddress) {
        this.request = request;
        this.clientAddress = clientAddress;
    }

    @Override
    public String method() {
        return request.method().name();
    }

    @Override
    public String path() {
        return path(request.uri());
    }

    /** The path of a request target: origin form ({@code /a?b}) or absolute form ({@code http://host/a?b}), without its query. */
    static String path(String uri) {
        int start = 0;
        int scheme = uri.indexOf("://");
        if (scheme > 0 && uri.indexOf('/') > scheme) {
            int slash = uri.indexOf('/', scheme + 3);
            if (slash < 0) {
                return "/";
            }
            start = slash;
        }
        int end = uri.length();
        for (int i = start; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        String path = uri.substring(start, end);
        return path.isEmpty() ? "/" : path;
    }

    @Override
    public String host() {
        String host = request.headers().get(HttpHeaderNames.HOST);
        if (host == null) {
            return "";
        }
        int colon = host.lastIndexOf(':');
        return (colon > 0 && host.indexOf(']') < colon ? host.substring(0, colon) : host).toLowerCase(Locale.ROOT);
    }

    @Override
    public String header(String name) {
        return request.headers().get(name);
    }

    @Override
    public String cookie(String name) {
        for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
            for (Cookie cookie : ServerCookieDecoder.LAX.decode(header)) {
                if (cookie.name().equals(name)) {
                    return cookie.value();
                }
            }
        }
        return null;
    }

    @Override
    public String clientAddress() {
        return clientAddress;
    }
}
