// One food: photo, name, description, details, categories, and where to eat it nearby.

import { h } from '../dom.js';
import { get } from '../api.js';
import { t } from '../i18n.js';
import { foodImage, notFoundAs, pageTitle } from '../ui.js';
import { mapLinks } from './worldcup.js';

export async function foodView(ctx) {
  const food = await get(`/foods/${encodeURIComponent(ctx.params.id)}`).catch(notFoundAs('food.not_found_lead'));
  ctx.setTitle(t('food.title', { name: food.name }));
  return h('div', { class: 'food-page', 'data-testid': 'food-detail', 'data-food-id': String(food.id) },
    h('div', { class: 'champion-card' },
      foodImage(food, { className: 'champion-img' }),
      h('div', { class: 'champion-text' },
        pageTitle(food.name),
        food.credit ? h('p', { class: 'credit' }, food.credit) : null,
        food.description ? h('p', { class: 'champion-desc' }, food.description) : null,
        food.details ? h('p', { class: 'champion-details' }, food.details) : null,
        food.categories?.length
          ? h('p', { class: 'pick-cats', 'aria-label': t('food.categories') }, food.categories.map((c) => h('span', { class: 'chip' }, c)))
          : null)),
    await mapLinks(food),
    h('p', null, h('a', { class: 'btn btn-ghost', href: '/' }, t('nav.home'))));
}
