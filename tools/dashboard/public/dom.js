/**
 * Builds DOM from data without ever parsing HTML: text goes in as text nodes and attributes
 * through setAttribute, so device-provided strings (labels, channel names, messages) cannot
 * become markup. Nothing in the dashboard uses innerHTML.
 */
export function h(tag, props, ...children) {
    const el = document.createElement(tag)
    for (const [key, value] of Object.entries(props || {})) {
        if (value === undefined || value === null || value === false) continue
        if (key === "class") el.className = value
        else if (key === "dataset") Object.assign(el.dataset, value)
        else el.setAttribute(key, String(value))
    }
    for (const child of children.flat(Infinity)) {
        if (child === undefined || child === null || child === false) continue
        el.append(child instanceof Node ? child : String(child))
    }
    return el
}

/** Replaces an element's children. */
export function replace(el, ...children) {
    el.replaceChildren()
    for (const child of children.flat(Infinity))
        if (child !== undefined && child !== null && child !== false) el.append(child instanceof Node ? child : String(child))
    return el
}
