package dev.strangler.connectors; final class Placeholder {}
