package dev.strangler.cli; final class Placeholder {}
