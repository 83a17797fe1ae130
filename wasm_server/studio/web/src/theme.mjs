// The editor's dark theme and syntax colours (matching style.css).
import { EditorView } from '@codemirror/view';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

const base = EditorView.theme({
  '&': { color: '#d8dee9', backgroundColor: '#1b1f27', height: '100%', fontSize: '13.5px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace', lineHeight: '1.5' },
  '.cm-content': { caretColor: '#f0f4fc' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: '#f0f4fc' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection':
    { backgroundColor: '#36415a' },
  '.cm-gutters': { backgroundColor: '#171a21', color: '#5c6577', border: 'none', borderRight: '1px solid #262b36' },
  '.cm-activeLine': { backgroundColor: '#222733' },
  '.cm-activeLineGutter': { backgroundColor: '#222733', color: '#aab3c5' },
  '.cm-matchingBracket, .cm-nonmatchingBracket': { backgroundColor: '#3b4457', outline: 'none' },
  '.cm-searchMatch': { backgroundColor: '#4b5a2a' },
  '.cm-tooltip': { backgroundColor: '#232833', border: '1px solid #3a4252', color: '#d8dee9' },
  '.cm-tooltip-lint': { maxWidth: '560px' },
  '.cm-panels': { backgroundColor: '#171a21', color: '#d8dee9' },
  '.cm-foldPlaceholder': { backgroundColor: '#2b3140', border: 'none', color: '#aab3c5' },
}, { dark: true });

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.modifier, t.operatorKeyword, t.controlKeyword, t.definitionKeyword], color: '#c792ea' },
  { tag: [t.typeName, t.className, t.namespace, t.standard(t.typeName)], color: '#ffcb6b' },
  { tag: [t.string, t.special(t.string), t.character, t.regexp], color: '#a5d6a7' },
  { tag: [t.number, t.bool, t.null, t.atom], color: '#f78c6c' },
  { tag: [t.comment, t.lineComment, t.blockComment, t.docComment], color: '#6b7689', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.macroName], color: '#82aaff' },
  { tag: [t.definition(t.variableName), t.definition(t.propertyName)], color: '#e3e8f0' },
  { tag: [t.propertyName, t.attributeName], color: '#89ddff' },
  { tag: [t.processingInstruction, t.meta, t.annotation], color: '#f07178' },
  { tag: [t.operator, t.punctuation, t.separator, t.bracket], color: '#9aa5b8' },
  { tag: t.heading, color: '#82aaff', fontWeight: 'bold' },
  { tag: t.invalid, color: '#ff5370' },
]);

/** The theme extension for every editor state. */
export const darkTheme = [base, syntaxHighlighting(highlight)];
